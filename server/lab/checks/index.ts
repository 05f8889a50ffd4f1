// Every check kind a lesson may use, by the name lesson.json gives it.
// A new kind is one file in kinds/ and one line here.

import type { CheckKind } from './kind.ts';
import behindOneNat from './kinds/behind-one-nat.ts';
import capacity from './kinds/capacity.ts';
import connectionCap from './kinds/connection-cap.ts';
import connects from './kinds/connects.ts';
import failover from './kinds/failover.ts';
import fleetCount from './kinds/fleet-count.ts';
import floodLimited from './kinds/flood-limited.ts';
import gracefulStop from './kinds/graceful-stop.ts';
import idleSurvives from './kinds/idle-survives.ts';
import instances from './kinds/instances.ts';
import learnerTest from './kinds/learner-test.ts';
import oversizedRefused from './kinds/oversized-refused.ts';
import pollingFails from './kinds/polling-fails.ts';
import presence from './kinds/presence.ts';
import proxyTimeout from './kinds/proxy-timeout.ts';
import recovery from './kinds/recovery.ts';
import roomDelivery from './kinds/room-delivery.ts';
import roomSplit from './kinds/room-split.ts';
import spread from './kinds/spread.ts';
import upgrades from './kinds/upgrades.ts';

// biome-ignore lint/suspicious/noExplicitAny: each kind has its own params type
export const CHECK_KINDS: Record<string, CheckKind<any>> = {
  instances,
  connects,
  'room-delivery': roomDelivery,
  'room-split': roomSplit,
  'polling-fails': pollingFails,
  spread,
  'behind-one-nat': behindOneNat,
  upgrades,
  'connection-cap': connectionCap,
  'flood-limited': floodLimited,
  'oversized-refused': oversizedRefused,
  failover,
  recovery,
  'graceful-stop': gracefulStop,
  presence,
  'fleet-count': fleetCount,
  capacity,
  'idle-survives': idleSurvives,
  'learner-test': learnerTest,
  'proxy-timeout': proxyTimeout,
};
