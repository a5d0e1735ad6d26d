// A cron job: every minute scheduled() records a heartbeat in KV; fetch() shows the last ones.
// HeartbeatHandler (faas-env.d.ts): a function with crons must export scheduled().
export default {
  async scheduled(controller, env): Promise<void> {
    const beats = (await env.BEATS.get<number[]>('recent', 'json')) ?? [];
    beats.unshift(controller.scheduledTime);
    await env.BEATS.put('recent', JSON.stringify(beats.slice(0, 10)));
    console.log(`heartbeat from "${controller.cron}" at ${new Date(controller.scheduledTime).toISOString()}`);
  },

  async fetch(_request, env): Promise<Response> {
    const beats = (await env.BEATS.get<number[]>('recent', 'json')) ?? [];
    return Response.json({ beats: beats.map((t) => new Date(t).toISOString()) });
  },
} satisfies HeartbeatHandler;
