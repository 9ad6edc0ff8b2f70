/**
 * The methods each route of the server takes, collected from the routes as they are registered
 * (fastify's onRoute hook, HEAD routes of GET routes included), so that a request for a known path
 * with another method can be answered 405 with an `Allow` header instead of 404.
 */
import type { FastifyInstance } from 'fastify';

interface RoutePattern {
  match: RegExp;
  methods: Set<string>;
}

/** A route URL as a regular expression: `:name` stands for one non-empty path segment, `*` for the rest. */
function patternOf(url: string): RegExp {
  const parts = url.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}$`);
}

/**
 * Watches the routes registered on `app` from now on; the returned function gives the methods the
 * routes matching a request path take (sorted; empty when no route has that path).
 */
export function watchRouteMethods(app: FastifyInstance): (path: string) => string[] {
  const routes = new Map<string, RoutePattern>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let r = routes.get(route.url);
    if (!r) {
      r = { match: patternOf(route.url), methods: new Set() };
      routes.set(route.url, r);
    }
    for (const m of methods) r.methods.add(m.toUpperCase());
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const r of routes.values()) if (r.match.test(path)) for (const m of r.methods) allowed.add(m);
    return [...allowed].sort();
  };
}
