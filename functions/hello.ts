export default {
  async fetch(request: Request, env: unknown, ctx: unknown): Promise<Response> {
    return new Response('Hello from faas!');
  },
};
