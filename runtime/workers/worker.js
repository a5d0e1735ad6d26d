// Worker-thread entry of a WorkerPool. The runtime is TypeScript run through tsx, and a thread
// needs the loader registered in itself before it can import a .ts module.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
