import { Headers, fromList, listOf, sortedListOf } from '../headers-class.ts';
import { listFrom } from '../safe.ts';

export default () => ({ Headers, fromList, listFrom, listOf, sortedListOf });
