import { devCheck } from './dev-check.ts';

devCheck(1);
