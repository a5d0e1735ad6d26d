/**
 * A function's live logs: `GET /admin/functions/<n>/logs` answers its recent events as JSON;
 * with `?follow=1`, as server-sent events (the recent ones, then each new one as it happens, with a
 * comment line every 15 s so proxies keep the stream open). `status` and `search` filter both.
 */
import type { Hono } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayEnv } from '../http.ts';
import { parseTailFilter, type TailEvent } from '../logs/hub.ts';
import type { Registry } from '../registry/registry.ts';
import { requireFunction } from './admin.ts';

const HEARTBEAT_MS = 15_000;
/** Bytes a slow follower may have waiting before its stream is cut (it can reconnect). */
const MAX_BACKLOG_BYTES = 1024 * 1024;

export function registerLogRoutes(app: Hono<GatewayEnv>, deps: { registry: Registry; plane: ControlPlane }): void {
  app.get('/admin/functions/:name/logs', (c) => {
    const rec = requireFunction(c, deps.registry);
    const filter = parseTailFilter({ status: c.req.query('status'), search: c.req.query('search') });
    const limitParam = c.req.query('limit');
    let limit: number | undefined;
    if (limitParam !== undefined) {
      if (!/^\d{1,4}$/.test(limitParam)) throw new FaasError('bad_request', 'limit must be an integer from 0 to 9999');
      limit = Number(limitParam);
    }
    const recent = deps.plane.logs.recent(rec.name, rec.tenant, filter, limit);
    const follow = c.req.query('follow');
    if (follow !== '1' && follow !== 'true') return c.json(recent);

    const encoder = new TextEncoder();
    let stop = () => {};
    let stopHeartbeat = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          stop();
          clearInterval(heartbeat);
          try {
            controller.close();
          } catch {
            // already closed by the reader going away
          }
        };
        const write = (text: string) => {
          if (closed) return;
          if ((controller.desiredSize ?? 0) < -MAX_BACKLOG_BYTES) return close();
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            // the reader cancelled (the client went away) before 'close' reached us: stop here; a
            // throw out of the heartbeat timer or a hub event would end the gateway
            close();
          }
        };
        const send = (e: TailEvent) => write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        const unsubscribe = deps.plane.logs.subscribe(rec.name, rec.tenant, filter, send, close);
        const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
        stop = unsubscribe;
        stopHeartbeat = () => {
          closed = true;
          clearInterval(heartbeat);
        };
        write(': following\n\n');
        for (const e of recent) send(e);
        c.env.outgoing.once('close', close);
      },
      cancel() {
        stop();
        stopHeartbeat();
      },
    }, { highWaterMark: MAX_BACKLOG_BYTES, size: (chunk) => chunk.byteLength });
    return new Response(stream, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'x-request-id': c.get('requestId'),
      },
    });
  });
}
