import { devCheck } from './dev-check.ts';

devCheck(4);
