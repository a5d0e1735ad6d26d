// A small JSON API: routing on the path, query parameters through URL/URLSearchParams, JSON bodies.
interface Todo {
  id: number;
  title: string;
  done: boolean;
}

const todos: Todo[] = [
  { id: 1, title: 'compile to bytecode', done: true },
  { id: 2, title: 'beat the cold start', done: false },
];

export default {
  async fetch(request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;

    if (request.method === 'GET' && path === '/todos') {
      const done = url.searchParams.get('done');
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const items = todos.filter((t) => done === null || String(t.done) === done).slice(0, limit);
      return Response.json({ items, count: items.length });
    }

    if (request.method === 'POST' && path === '/todos') {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return Response.json({ error: 'body must be JSON' }, { status: 400 });
      }
      const title = (body as { title?: unknown }).title;
      if (typeof title !== 'string' || title.length === 0 || title.length > 200) {
        return Response.json({ error: 'title must be a non-empty string of at most 200 characters' }, { status: 422 });
      }
      const todo = { id: todos.length + 1, title, done: false };
      todos.push(todo);
      return Response.json(todo, { status: 201 });
    }

    return Response.json({ error: `no route for ${request.method} ${path}` }, { status: 404 });
  },
} satisfies ExportedHandler<JsonApiEnv>;
