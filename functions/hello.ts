export default {
  async fetch(request, env, ctx): Promise<Response> {
    return new Response('Hello from faas!');
  },
} satisfies ExportedHandler<HelloEnv>;
