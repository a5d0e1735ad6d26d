// A CPU-bound handler for the scaling bench (bench/scaling.ts): about a millisecond of guest
// arithmetic per request, so throughput is bounded by the cores running guests, not by HTTP.
export default {
  fetch(request: Request): Response {
    const n = Number(new URL(request.url).searchParams.get('n') ?? '20000');
    let h = 2166136261;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ (i & 0xff), 16777619) >>> 0;
    return new Response(`spin ${h}`);
  },
};
