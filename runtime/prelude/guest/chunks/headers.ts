import { Headers, fromList, sortedListOf } from '../headers-class.ts';

export default () => ({ Headers, fromList, sortedListOf });
