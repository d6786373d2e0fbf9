import { defineDemo } from '../../scripts/quickstart/components';

/** A page to probe, with the text [web.demo_portal] expects. */
export default defineDemo({
  routes: {
    '/web/ok': { contentType: 'text/html', body: () => '<html><body><h1>EventIndex demo</h1><p>status: OK</p></body></html>' },
  },
});
