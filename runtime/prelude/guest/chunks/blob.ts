import { Blob, File, blobState, blobType, bodyBlob, extractBlob, fileFields, makeFile } from '../blob.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { Blob, File, fromBody: bodyBlob, blobState, blobType, toBody: extractBlob, fileFields, makeFile });
