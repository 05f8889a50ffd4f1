// Lesson 14's production configs (Kubernetes + ingress-nginx, AWS ALB) must
// keep the promises the lab proves locally: stickiness, heartbeats that
// survive the proxy, a drain that finishes, the Redis adapter. Where the lab
// has a source of truth (server/app/config.ts, the nginx cookie upstream, the
// app's health route), the numbers and names come from there, not from here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfig, ENV } from '../../server/app/config.ts';

const defaults = defaultConfig();
import { repoRoot } from '../../server/lab/settings.ts';

const deployDir = path.join(repoRoot, 'lessons', '14-beyond-one-machine', 'deploy');
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

// ── The lab's sources of truth ──────────────────────────────────────────────

const HEALTH_PATH = '/health';
const serverSource = readFileSync(path.join(repoRoot, 'server', 'app', 'server.ts'), 'utf8');

/** The cookie the lab's own nginx keys affinity on: `$cookie_<name>` in the cookie upstream. */
function labCookieName(): string {
  const conf = readFileSync(path.join(repoRoot, 'nginx', 'upstream', 'cookie.conf'), 'utf8');
  const name = conf.match(/\$cookie_([A-Za-z0-9_]+)/)?.[1];
  assert.ok(name, 'nginx/upstream/cookie.conf no longer keys on a $cookie_<name> variable');
  return name;
}

// ── Kubernetes shapes (only the fields these tests read) ────────────────────

interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, unknown>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface Deployment {
  apiVersion: string;
  kind: 'Deployment';
  metadata: Meta;
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; terminationGracePeriodSeconds?: number };
    };
  };
}
interface Service {
  apiVersion: string;
  kind: 'Service';
  metadata: Meta;
  spec: {
    type?: string;
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string }[];
  };
}
interface IngressPath {
  path: string;
  pathType: string;
  backend: { service: { name: string; port: { number?: number; name?: string } } };
}
interface Ingress {
  apiVersion: string;
  kind: 'Ingress';
  metadata: Meta;
  spec: { ingressClassName?: string; rules: { host?: string; http: { paths: IngressPath[] } }[] };
}
type Item = Deployment | Service | Ingress;

const k8s = readJson(path.join(deployDir, 'kubernetes', 'chat.json')) as {
  apiVersion: string;
  kind: string;
  items: Item[];
};

function find<K extends Item['kind']>(kind: K, name: string): Extract<Item, { kind: K }> {
  const found = k8s.items.filter((i) => i.kind === kind && i.metadata?.name === name);
  assert.equal(found.length, 1, `expected exactly one ${kind} "${name}" in chat.json, found ${found.length}`);
  return found[0] as Extract<Item, { kind: K }>;
}

const chat = find('Deployment', 'chat');
const chatContainer = chat.spec.template.spec.containers[0]!;
const env = new Map((chatContainer.env ?? []).map((e) => [e.name, e]));
const envValue = (name: string): string | undefined => env.get(name)?.value;

/** The settings every chat instance runs with, in either deployment: the Deployment's env over the app's defaults. */
const app = {
  port: Number(envValue(ENV.port)),
  drainMs: Number(envValue(ENV.drainMs) ?? defaults.drainMs),
  heartbeatS:
    (Number(envValue(ENV.pingIntervalMs) ?? defaults.pingIntervalMs) +
      Number(envValue(ENV.pingTimeoutMs) ?? defaults.pingTimeoutMs)) /
    1000,
};

/** A pod port reference (number or name) as the number the container listens on. */
function containerPort(container: Container, ref: number | string | undefined): number | undefined {
  if (typeof ref === 'number') return ref;
  return container.ports?.find((p) => p.name === ref)?.containerPort;
}

/** True when every key/value of `selector` is among `labels` (how Services and Deployments pick pods). */
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const seconds = (value: unknown, what: string): number => {
  assert.equal(typeof value, 'string', `${what} must be a string: kubectl and CloudFormation refuse other types here`);
  const n = Number(value);
  assert.ok(Number.isInteger(n) && n > 0, `${what} "${String(value)}" is not a positive whole number of seconds`);
  return n;
};

describe('Kubernetes with ingress-nginx (lesson 14)', () => {
  test('kubectl apply -f chat.json creates the chat and redis Deployments and Services and the Ingress', () => {
    assert.equal(k8s.apiVersion, 'v1');
    assert.equal(k8s.kind, 'List', 'kubectl applies a JSON file with several objects only as a List');
    const apiVersions: Record<Item['kind'], string> = {
      Deployment: 'apps/v1',
      Service: 'v1',
      Ingress: 'networking.k8s.io/v1',
    };
    for (const item of k8s.items) {
      assert.equal(
        item.apiVersion,
        apiVersions[item.kind],
        `${item.kind} "${item.metadata.name}": other apiVersions are gone from current clusters`,
      );
    }
    find('Deployment', 'chat');
    find('Service', 'chat');
    find('Deployment', 'redis');
    find('Service', 'redis');
    find('Ingress', 'chat');
  });

  test('several chat pods run, and the chat Service routes to exactly those pods', () => {
    assert.ok(
      (chat.spec.replicas ?? 1) >= 2,
      `replicas ${chat.spec.replicas}: one pod is not horizontal scaling, and every restart is an outage`,
    );
    const podLabels = chat.spec.template.metadata.labels;
    assert.ok(
      selects(chat.spec.selector.matchLabels, podLabels),
      'the Deployment selector does not match its own pod labels: the API server rejects it',
    );
    const service = find('Service', 'chat');
    assert.ok(
      selects(service.spec.selector, podLabels),
      'the chat Service selects no chat pod: it has no endpoints and the Ingress answers 503',
    );
    const redisPods = find('Deployment', 'redis').spec.template.metadata.labels;
    assert.ok(
      !selects(service.spec.selector, redisPods),
      'the chat Service also selects the redis pod: some Socket.IO requests would land on Redis',
    );
  });

  test('every environment variable the pods get is one the app reads', () => {
    const known = new Set<string>(Object.values(ENV));
    for (const name of env.keys()) {
      assert.ok(known.has(name), `${name} is not read by server/app/config.ts: that setting silently does nothing`);
    }
  });

  test('each pod listens on its pod IP, on the port the Service and the probes use', () => {
    const host = envValue(ENV.host) ?? defaults.host;
    assert.ok(
      !/^(127\.|localhost$|::1$)/.test(host),
      `HOST ${host}: a pod listening on loopback is unreachable from the Service, the Ingress and its probes`,
    );
    const listens = chatContainer.ports?.[0]?.containerPort;
    assert.equal(
      app.port,
      listens,
      `PORT ${app.port} but containerPort ${listens}: traffic goes to a port nothing listens on`,
    );
    const service = find('Service', 'chat');
    for (const p of service.spec.ports) {
      assert.equal(
        containerPort(chatContainer, p.targetPort ?? p.port),
        app.port,
        `Service port ${p.port} targets a port the app does not listen on`,
      );
    }
    for (const [kind, probe] of [
      ['readiness', chatContainer.readinessProbe],
      ['liveness', chatContainer.livenessProbe],
    ] as const) {
      assert.equal(
        containerPort(chatContainer, probe?.httpGet?.port),
        app.port,
        `the ${kind} probe checks a port the app does not listen on: every pod fails it`,
      );
    }
  });

  test('each pod reports its own pod name as serverId, so welcome and /health tell pods apart', () => {
    const id = env.get(ENV.serverId);
    assert.equal(
      id?.valueFrom?.fieldRef?.fieldPath,
      'metadata.name',
      `${ENV.serverId} must come from the pod name: a fixed value, or none (s${app.port - 3000} from PORT), gives every pod the same serverId`,
    );
  });

  test('rooms span pods: the Redis adapter is on and reaches the redis Service', () => {
    const adapter = envValue(ENV.adapter) ?? defaults.adapter;
    assert.ok(
      adapter === 'redis' || adapter === 'redis-streams',
      `ADAPTER ${adapter}: without an adapter each pod hears only its own clients (lesson 2's split brain)`,
    );
    const redisUrl = envValue(ENV.redisUrl);
    assert.ok(
      redisUrl,
      `${ENV.redisUrl} unset: the app dials its default ${defaults.redisUrl}, inside its own pod, and never connects`,
    );
    const url = new URL(redisUrl);
    const redis = find('Service', url.hostname);
    assert.ok(
      redis.spec.ports.some((p) => p.port === Number(url.port || 6379)),
      `REDIS_URL port ${url.port} is not a port of Service "${url.hostname}": the adapter never connects`,
    );
    const redisDeployment = find('Deployment', 'redis');
    assert.ok(
      selects(redis.spec.selector, redisDeployment.spec.template.metadata.labels),
      'the redis Service selects no redis pod: the adapter never connects',
    );
    const redisContainer = redisDeployment.spec.template.spec.containers[0]!;
    for (const p of redis.spec.ports) {
      assert.equal(
        containerPort(redisContainer, p.targetPort ?? p.port),
        6379,
        `redis Service port ${p.port} targets a port Redis does not listen on`,
      );
    }
  });

  test('a draining pod leaves the Service quickly but is neither restarted nor killed before its drain ends', () => {
    assert.ok(app.drainMs > 0, 'DRAIN_MS 0: SIGTERM closes every socket at once, with no warning to clients');
    assert.ok(
      serverSource.includes(`'${HEALTH_PATH}'`),
      `server/app/server.ts no longer serves ${HEALTH_PATH}: the probes below check a route that 404s`,
    );
    const readiness = chatContainer.readinessProbe;
    const liveness = chatContainer.livenessProbe;
    assert.equal(
      readiness?.httpGet?.path,
      HEALTH_PATH,
      `readiness must probe ${HEALTH_PATH}, which answers 503 while draining, so the pod leaves the endpoints`,
    );
    assert.equal(liveness?.httpGet?.path, HEALTH_PATH, `liveness must probe ${HEALTH_PATH}`);

    // Kubernetes defaults: periodSeconds 10, failureThreshold 3.
    const notReadyAfterMs = (readiness?.periodSeconds ?? 10) * (readiness?.failureThreshold ?? 3) * 1000;
    assert.ok(
      notReadyAfterMs < app.drainMs,
      `readiness notices the drain after ${notReadyAfterMs} ms, not within DRAIN_MS ${app.drainMs}: the Ingress keeps sending new clients to a pod that refuses them`,
    );
    const restartAfterMs = (liveness?.periodSeconds ?? 10) * (liveness?.failureThreshold ?? 3) * 1000;
    assert.ok(
      restartAfterMs > app.drainMs,
      `liveness fails after ${restartAfterMs} ms of 503s, within DRAIN_MS ${app.drainMs}: the kubelet restarts a pod mid-drain`,
    );

    const graceS = chat.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(
      graceS * 1000 > app.drainMs,
      `terminationGracePeriodSeconds ${graceS} s ≤ DRAIN_MS ${app.drainMs} ms: SIGKILL cuts the drain and clients drop without notice`,
    );
  });

  test('the Ingress sends /socket.io/ to the chat Service, on the port its pods listen on', () => {
    const ingress = find('Ingress', 'chat');
    assert.equal(
      ingress.spec.ingressClassName,
      'nginx',
      'another ingress class ignores every nginx.ingress.kubernetes.io annotation below',
    );
    const paths = ingress.spec.rules.flatMap((r) => r.http.paths);
    const socketIo = paths.find((p) => p.path === '/socket.io/');
    assert.ok(socketIo, 'no rule for /socket.io/: Socket.IO clients get 404');
    assert.equal(
      socketIo.pathType,
      'Prefix',
      'Exact would match only /socket.io/ itself, not the requests Socket.IO makes under it',
    );
    const service = find('Service', socketIo.backend.service.name);
    const port = service.spec.ports.find(
      (p) => p.port === socketIo.backend.service.port.number || p.name === socketIo.backend.service.port.name,
    );
    assert.ok(port, `the Ingress targets a port Service "${service.metadata.name}" does not have`);
    assert.equal(
      containerPort(chatContainer, port.targetPort ?? port.port),
      app.port,
      'the Ingress reaches a port the chat pods do not listen on',
    );
  });

  test('sessions stick to one pod by a cookie with the name the lab’s nginx uses', () => {
    const a = find('Ingress', 'chat').metadata.annotations ?? {};
    assert.equal(
      a['nginx.ingress.kubernetes.io/affinity'],
      'cookie',
      'without affinity, long-polling requests land on different pods: "Session ID unknown" (lesson 3)',
    );
    assert.equal(
      a['nginx.ingress.kubernetes.io/affinity-mode'],
      'persistent',
      'balanced mode moves some sessions to new pods when the Deployment scales up',
    );
    const cookie = a['nginx.ingress.kubernetes.io/session-cookie-name'];
    const labCookie = labCookieName();
    assert.equal(
      cookie,
      labCookie,
      `session-cookie-name "${String(cookie)}" but the lab's nginx keys on "${labCookie}" (nginx/upstream/cookie.conf): the lesson's production setup no longer pins sessions the way the lab does`,
    );
    seconds(a['nginx.ingress.kubernetes.io/session-cookie-max-age'], 'session-cookie-max-age');
    assert.notEqual(
      a['nginx.ingress.kubernetes.io/service-upstream'],
      'true',
      'service-upstream sends everything to the Service IP: kube-proxy picks the pod and the cookie pins nothing',
    );
  });

  test('the Ingress keeps quiet Socket.IO connections open from one heartbeat to the next', () => {
    const a = find('Ingress', 'chat').metadata.annotations ?? {};
    for (const key of [
      'nginx.ingress.kubernetes.io/proxy-read-timeout',
      'nginx.ingress.kubernetes.io/proxy-send-timeout',
    ]) {
      const timeout = seconds(a[key], key);
      assert.ok(
        timeout > app.heartbeatS,
        `${key} ${timeout} s ≤ ${app.heartbeatS} s (pingInterval + pingTimeout): the proxy cuts idle Socket.IO connections ("transport close")`,
      );
    }
  });

  test('every ingress-nginx annotation is spelled as ingress-nginx documents it, with a string value', () => {
    // ingress-nginx silently ignores annotations it does not know. These are the ones this lesson relies on.
    const documented = new Set([
      'affinity',
      'affinity-mode',
      'session-cookie-name',
      'session-cookie-max-age',
      'proxy-read-timeout',
      'proxy-send-timeout',
    ]);
    for (const item of k8s.items) {
      for (const [key, value] of Object.entries(item.metadata.annotations ?? {})) {
        assert.equal(
          typeof value,
          'string',
          `${item.kind} "${item.metadata.name}" annotation ${key}: kubectl rejects non-string annotation values`,
        );
        const [prefix, name] = key.split('/');
        if (prefix === 'nginx.ingress.kubernetes.io')
          assert.ok(
            documented.has(name!),
            `${key} is not an annotation this lesson verified: a typo would be ignored without a word`,
          );
      }
    }
  });
});

// ── CloudFormation shapes ────────────────────────────────────────────────────

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface KeyValue {
  Key: string;
  Value: string;
}

const cfn = readJson(path.join(deployDir, 'aws', 'alb.json')) as {
  AWSTemplateFormatVersion: string;
  Parameters: Record<string, { Type: string }>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
};

function resourceOfType(type: string): [string, CfnResource] {
  const found = Object.entries(cfn.Resources).filter(([, r]) => r.Type === type);
  assert.equal(found.length, 1, `expected exactly one ${type} in alb.json, found ${found.length}`);
  return found[0]!;
}
const attributes = (list: unknown): Map<string, string> =>
  new Map((list as KeyValue[]).map((kv) => [kv.Key, kv.Value]));

/** Every logical name a Ref, Fn::GetAtt or Fn::Sub `${…}` in `node` points at. */
function references(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) references(n, out);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') out.push(value);
      else if (key === 'Fn::GetAtt') out.push(Array.isArray(value) ? String(value[0]) : String(value).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(value) ? String(value[0]) : String(value);
        for (const m of text.matchAll(/\$\{([^!}][^}.]*)/g)) out.push(m[1]!);
        references(value, out);
      } else references(value, out);
    }
  }
  return out;
}

const [lbName, lb] = resourceOfType('AWS::ElasticLoadBalancingV2::LoadBalancer');
const [tgName, tg] = resourceOfType('AWS::ElasticLoadBalancingV2::TargetGroup');
const [, listener] = resourceOfType('AWS::ElasticLoadBalancingV2::Listener');

describe('AWS Application Load Balancer (lesson 14)', () => {
  test('the template has an application load balancer, a target group and a listener, and every Ref and GetAtt resolves', () => {
    assert.equal(cfn.AWSTemplateFormatVersion, '2010-09-09');
    assert.equal(
      lb.Properties.Type ?? 'application',
      'application',
      'only an Application Load Balancer has cookie stickiness and HTTP health checks',
    );
    for (const name of references(cfn)) {
      const known = name in cfn.Resources || name in cfn.Parameters || name.startsWith('AWS::');
      assert.ok(
        known,
        `${name} is referenced but is neither a resource nor a parameter: CloudFormation refuses the template`,
      );
    }
  });

  test('the listener forwards to the chat target group, which reaches the app on its port', () => {
    assert.deepEqual(
      listener.Properties.LoadBalancerArn,
      { Ref: lbName },
      'the listener belongs to another load balancer',
    );
    const actions = listener.Properties.DefaultActions as { Type: string; TargetGroupArn?: unknown }[];
    assert.deepEqual(
      actions.map((a) => [a.Type, a.TargetGroupArn]),
      [['forward', { Ref: tgName }]],
      'the listener does not forward to the chat target group',
    );
    assert.equal(tg.Properties.Protocol, 'HTTP');
    assert.equal(
      tg.Properties.Port,
      app.port,
      `target group port ${String(tg.Properties.Port)} is not the app's PORT ${app.port}: every target fails its health check`,
    );
    for (const target of (tg.Properties.Targets as { Port?: number }[] | undefined) ?? []) {
      assert.equal(
        target.Port ?? tg.Properties.Port,
        app.port,
        'a target is registered on a port the app does not listen on',
      );
    }
  });

  test('the load balancer keeps quiet Socket.IO connections open from one heartbeat to the next', () => {
    const idle = seconds(
      attributes(lb.Properties.LoadBalancerAttributes).get('idle_timeout.timeout_seconds'),
      'idle_timeout.timeout_seconds',
    );
    assert.ok(
      idle > app.heartbeatS,
      `idle timeout ${idle} s ≤ ${app.heartbeatS} s (pingInterval + pingTimeout): the load balancer cuts idle Socket.IO connections`,
    );
  });

  test('sessions stick to one instance by a load-balancer cookie', () => {
    const a = attributes(tg.Properties.TargetGroupAttributes);
    assert.equal(
      a.get('stickiness.enabled'),
      'true',
      'without stickiness, long-polling requests land on different instances: "Session ID unknown" (lesson 3)',
    );
    assert.equal(
      a.get('stickiness.type'),
      'lb_cookie',
      'app_cookie needs a cookie the app sets; the chat server sets none',
    );
    const duration = seconds(a.get('stickiness.lb_cookie.duration_seconds'), 'stickiness.lb_cookie.duration_seconds');
    assert.ok(duration <= 604_800, `stickiness duration ${duration} s: AWS accepts at most 7 days`);
  });

  test('a draining instance fails its health check and keeps its connections until its drain ends', () => {
    assert.equal(
      tg.Properties.HealthCheckPath,
      HEALTH_PATH,
      `the health check must hit ${HEALTH_PATH}, which answers 503 while draining`,
    );
    const codes = String((tg.Properties.Matcher as { HttpCode?: string } | undefined)?.HttpCode ?? '200');
    const accepts = (status: number): boolean =>
      codes.split(',').some((part) => {
        const [lo, hi = lo] = part.split('-').map(Number);
        return status >= lo! && status <= hi!;
      });
    assert.ok(accepts(200), `health matcher "${codes}" refuses 200: every instance is unhealthy`);
    assert.ok(!accepts(503), `health matcher "${codes}" accepts 503: draining instances keep receiving new clients`);
    const delay = seconds(
      attributes(tg.Properties.TargetGroupAttributes).get('deregistration_delay.timeout_seconds'),
      'deregistration_delay.timeout_seconds',
    );
    assert.ok(
      delay * 1000 > app.drainMs,
      `deregistration delay ${delay} s ≤ DRAIN_MS ${app.drainMs} ms: the load balancer drops connections before the app has told its clients to move`,
    );
  });

  test('the instances accept the load balancer on the app port, or every target stays unhealthy', () => {
    const [sgName] = resourceOfType('AWS::EC2::SecurityGroup');
    assert.deepEqual(lb.Properties.SecurityGroups, [{ 'Fn::GetAtt': [sgName, 'GroupId'] }]);
    const [, rule] = resourceOfType('AWS::EC2::SecurityGroupIngress');
    const { FromPort, ToPort, SourceSecurityGroupId } = rule.Properties as {
      FromPort: number;
      ToPort: number;
      SourceSecurityGroupId: unknown;
    };
    assert.ok(
      FromPort <= app.port && app.port <= ToPort,
      `the instances' ingress rule opens ${FromPort}-${ToPort}, not the app's port ${app.port}`,
    );
    assert.deepEqual(
      SourceSecurityGroupId,
      { 'Fn::GetAtt': [sgName, 'GroupId'] },
      "the instances' ingress rule does not admit the load balancer",
    );
  });
});
