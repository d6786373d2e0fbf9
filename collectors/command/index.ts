import { defineSource } from '../source';
import { COMMAND_EVENT_PICKING, COMMAND_RESULT } from '../../schemas/kinds';

export default defineSource({
  description: 'Runs configured commands or scripts (test scripts, build checks) and sends their exit code, duration and declared output values',
  // event_picking: the typed values of the demo's event picking test (schemas/command/event_picking.json).
  produces: [COMMAND_RESULT, COMMAND_EVENT_PICKING],
  // Every command's timeout must be shorter (collectors/command/settings.ts checks it).
  deadline: '8m',
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
});
