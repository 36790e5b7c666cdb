// The client of Parley's JSON API (/api/v1): the CSRF token on writes,
// errors as ApiError with the server's code, a signed-out session sent
// back to the sign-in.

import { signedOut } from './signin.js';
import { API, S } from './store.js';

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body, retried) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = S.csrf;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'Cannot reach Parley; check your connection');
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (res.ok) return data;
  const err = new ApiError(res.status, (data && data.code) || 'http_' + res.status,
    (data && data.error) || res.statusText || 'Request failed');
  if (res.status === 401 && err.code === 'unauthenticated' && S.me) {
    err.silent = true;
    signedOut('Your session ended. Sign in again.');
  } else if (err.code === 'csrf' && !retried && S.me) {
    // The token changed (signed in again in another tab): fetch it and retry once.
    const me = await api('GET', '/me');
    S.csrf = me.csrf_token;
    return api(method, path, body, true);
  }
  throw err;
}

export const convPath = (id, action) => '/conversations/' + encodeURIComponent(id) + (action ? '/' + action : '');
