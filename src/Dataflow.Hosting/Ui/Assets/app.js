// The UI's entry: routes #/ to the runs page and #/runs/<id> to a run's page, and shows the store.
import { get } from './api.js';
import { replace } from './dom.js';
import { RunsPage } from './runs.js';
import { RunPage } from './run.js';

const main = document.getElementById('main');
let page = null;
let store = null;

async function route() {
  page?.stop();
  const match = /^#\/runs\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  page = match ? new RunPage(main, decodeURIComponent(match[1]), store) : new RunsPage(main, store);
  document.title = match ? `${match[1]} · Dataflow` : 'Dataflow runs';
  page.start();
}

async function start() {
  try {
    store = await get('/api/store');
    // How far the server's clock is ahead of this browser's: a running run's duration is counted by the server's.
    store.clockSkewMs = Date.parse(store.now) - Date.now();
    replace(document.getElementById('store'), `${store.program} · ${store.location}${store.actions ? ' · actions allowed' : ' · read-only'}`);
  } catch (error) {
    replace(main, `Cannot reach the server: ${error.message}`);
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}

start();
