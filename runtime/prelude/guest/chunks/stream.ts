import { bindHost, type Internals } from '../host.ts';
import * as streams from '../streams.ts';
import { TextDecoderStream, TextEncoderStream } from '../text-streams.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { ...streams, TextEncoderStream, TextDecoderStream });
