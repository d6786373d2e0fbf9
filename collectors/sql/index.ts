import { defineSource } from '../source';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

export default defineSource({
  description: 'Runs named read-only SELECTs against MySQL/MariaDB, PostgreSQL or Oracle and sends their rows plus an up/duration document per query',
  produces: [SQL_QUERY_STATUS],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
