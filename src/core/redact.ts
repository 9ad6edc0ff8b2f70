/**
 * Secrets that may sit in a URL (user:password@, ?api_key=...) never reach a log line, a
 * warning, an error message or a cache key: every URL shown goes through `redactUrl`.
 */

const SECRET_PARAMS = /^(api[-_]?key|key|token|access[-_]?token|auth|password|secret|signature|sig)$/i;

/** The URL with its user, password and secret-looking query values replaced by `***`. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
  let changed = false;
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
    changed = true;
  }
  for (const k of [...u.searchParams.keys()])
    if (SECRET_PARAMS.test(k)) {
      u.searchParams.set(k, '***');
      changed = true;
    }
  // unchanged URLs are returned exactly as given (no normalisation of slashes or case)
  return changed ? u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '') : url;
}

/** The user and password of a URL (decoded), if it has them, and the URL without them. */
export function splitCredentials(url: string): { url: string; user?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, url.endsWith('/') ? '/' : ''), user, password };
}

/** `text` with every occurrence of each secret (4 characters or more) replaced by [redacted]. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
