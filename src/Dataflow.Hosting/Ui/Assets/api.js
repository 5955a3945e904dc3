// The server's JSON API (see UiServer.Api.cs). Errors carry the server's message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  const type = response.headers.get('content-type') || '';
  const body = type.startsWith('application/json') ? await response.json() : { error: await response.text() };
  if (!response.ok) throw new ApiError(response.status, body.error || `${response.status} ${response.statusText}`);
  return body;
}

export async function get(path, signal) {
  return answer(await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', signal }));
}

export async function act(runId, action) {
  return answer(await fetch(`/api/runs/${encodeURIComponent(runId)}/${action}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { accept: 'application/json', 'X-Dataflow-Action': '1' },
  }));
}
