// A cron job: every minute scheduled() records a heartbeat in KV; fetch() shows the last ones.
interface Env {
  BEATS: {
    get(key: string, type: 'json'): Promise<unknown>;
    put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  };
}

export default {
  async scheduled(controller: { cron: string; scheduledTime: number }, env: Env): Promise<void> {
    const beats = ((await env.BEATS.get('recent', 'json')) as number[] | null) ?? [];
    beats.unshift(controller.scheduledTime);
    await env.BEATS.put('recent', JSON.stringify(beats.slice(0, 10)));
    console.log(`heartbeat from "${controller.cron}" at ${new Date(controller.scheduledTime).toISOString()}`);
  },

  async fetch(_request: Request, env: Env): Promise<Response> {
    const beats = ((await env.BEATS.get('recent', 'json')) as number[] | null) ?? [];
    return Response.json({ beats: beats.map((t) => new Date(t).toISOString()) });
  },
};
