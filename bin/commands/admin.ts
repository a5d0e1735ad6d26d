export async function deployCommand(..._a: unknown[]): Promise<void> {}
export async function listCommand(..._a: unknown[]): Promise<void> {}
export async function deleteCommand(..._a: unknown[]): Promise<void> {}
