// Thread entry of the compile worker (compile-worker.ts). The compiler is TypeScript run through
// tsx, and a thread needs the loader registered in itself before it can import a .ts module.
import { register } from 'tsx/esm/api';

register();
await import('./compile-worker-main.ts');
