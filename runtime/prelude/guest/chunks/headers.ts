import { Headers, fromList, listOf, sortedListOf } from '../headers-class.ts';

export default () => ({ Headers, fromList, listOf, sortedListOf });
