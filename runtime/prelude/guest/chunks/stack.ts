import { wrap } from '../call-sites.ts';

export default () => ({ wrap });
