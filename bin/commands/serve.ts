export async function serveCommand(_opts: unknown): Promise<void> {}
