import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Deployment } from "kubernetes-models/apps/v1";
import { ServiceAccount } from "kubernetes-models/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IService } from "kubernetes-models/v1/Service";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";
import { parseRulesFile, type ParsedDocument } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { formatIssue } from "../src/model/issues.js";
import { parseOptions, UsageError } from "../src/server/options.js";
import { CONTROLLER_NAME } from "../src/translate/ingressClass.js";
import { get, rulesDir, startProxy, type RulesDir } from "./helpers.js";
import { unknownManifestFields } from "./kubernetesFields.js";

/**
 * deploy/: the manifests `kubectl apply -k deploy/` installs, checked as an API server
 * would (the Kubernetes OpenAPI schemas ingressd validates its own input with, and strict
 * field names), and against what ingressd is: its flags, its admin paths, its image.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const deployDir = join(root, "deploy");
const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort();

/** Every document of deploy/, parsed by ingressd's own parser so a problem names file:line:col. */
const documents: ParsedDocument[] = files.flatMap((file) => {
  const parsed = parseRulesFile(join("deploy", file), readFileSync(join(deployDir, file), "utf8"));
  if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join("\n"));
  return parsed.documents;
});

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;
const manifests = documents.map((d) => d.value as Manifest);
function the<T>(kind: string, name?: string): T {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""} in deploy/, found ${found.length}`);
  return found[0] as T;
}

/** Kinds ingressd does not read itself: their kubernetes-models class (OpenAPI schema). */
const SCHEMAS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment as never,
  "v1/ServiceAccount": ServiceAccount as never,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget as never,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole as never,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding as never,
  "rbac.authorization.k8s.io/v1/Role": Role as never,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding as never,
};
const KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1/Kustomization";
const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

const kustomization = the<{ namespace: string; resources: string[]; images: { name: string; newName?: string; newTag?: string }[] }>("Kustomization");
const deployment = the<IDeployment>("Deployment");
const container = (): IContainer => deployment.spec!.template.spec!.containers.find((c) => c.name === "ingressd")!;
const service = the<IService>("Service");
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;

/** `group/resource` → its verbs, sorted: what a set of RBAC rules grants, however it is grouped. */
function grants(rules: IPolicyRule[]): Record<string, string> {
  const out: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group || "core"}/${resource}${rule.resourceNames ? `[${rule.resourceNames.join(",")}]` : ""}`;
        for (const verb of rule.verbs) (out[key] ??= new Set()).add(verb);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort().join(",")]));
}

/** One document as an API server would judge it: its OpenAPI schema, then strict field names. */
function expectValid(doc: ParsedDocument): void {
  const m = doc.value as Manifest;
  const key = `${m.apiVersion}/${m.kind}`;
  const where = `${doc.file} (${key} ${m.metadata?.name})`;
  if (key === KUSTOMIZATION) return; // kustomize's own file: no API kind (checked below)
  const schema = SCHEMAS[key];
  if (schema) {
    expect(() => new schema(structuredClone(m) as never).validate(), where).not.toThrow();
  } else {
    // A kind ingressd reads (Namespace, Service, IngressClass): its own validation,
    // the same schemas plus its checks. Not even a warning is acceptable here.
    const result = validateDocuments([doc]);
    expect(result.issues.map(formatIssue), where).toEqual([]);
    expect(result.resources, `${where}: a kind neither ingressd nor this test knows`).toHaveLength(1);
  }
  expect(unknownManifestFields(m), where).toEqual([]);
}

describe("deploy/ manifests", () => {
  it("every document passes the Kubernetes OpenAPI validation, and names only fields its kind defines", () => {
    expect(files.length).toBeGreaterThan(1);
    for (const doc of documents) expectValid(doc);
  });

  // kubectl embeds kustomize; where it is installed, what `kubectl apply -k` sends is checked too.
  it.skipIf(!kubectl)("`kubectl kustomize deploy/` builds the same resources, valid, labelled, selectors untouched, with the image set", () => {
    const built = spawnSync("kubectl", ["kustomize", deployDir], { encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    const parsed = parseRulesFile("kubectl kustomize deploy/", built.stdout);
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join("\n"));
    const ids = (ms: Manifest[]): string[] => ms.map((m) => `${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name}`).sort();
    const output = parsed.documents.map((d) => d.value as Manifest);
    expect(ids(output)).toEqual(ids(manifests.filter((m) => m.kind !== "Kustomization")));
    for (const doc of parsed.documents) expectValid(doc);
    for (const m of output) expect(m.metadata.labels, `${m.kind} ${m.metadata.name}`).toMatchObject({ "app.kubernetes.io/part-of": "ingressd" });
    const builtDeployment = output.find((m) => m.kind === "Deployment") as IDeployment;
    expect(builtDeployment.spec!.selector).toEqual(deployment.spec!.selector);
    const image = kustomization.images[0]!;
    expect(builtDeployment.spec!.template.spec!.containers[0]!.image).toBe(`${image.newName}:${image.newTag}`);
  });

  it("the kustomization lists every file of deploy/, puts them in its namespace, and sets the image at package.json's version", () => {
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== "kustomization.yaml"));
    expect(kustomization.namespace).toBe("ingressd");
    // Namespaced resources say their namespace too, so the files read the same as kustomize's output.
    const clusterScoped = new Set(["Kustomization", "Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass"]);
    for (const m of manifests) if (!clusterScoped.has(m.kind)) expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe(kustomization.namespace);
    expect(the<Manifest>("Namespace").metadata.name).toBe(kustomization.namespace);
    const [imageName, imageTag] = container().image!.split(":");
    expect(kustomization.images).toEqual([{ name: imageName, newName: imageName, newTag: version }]);
    expect(imageTag).toBe(version);
  });

  it("the IngressClass is ingressd's controller, the class ingressd serves by default, and not the cluster's default", () => {
    const cls = the<Manifest & { spec: { controller: string } }>("IngressClass");
    expect(cls.spec.controller).toBe(CONTROLLER_NAME);
    const options = parseOptions([], {});
    if (options === "help" || options === "version") throw new Error("unreachable");
    expect(cls.metadata.name).toBe(options.ingressClass);
    expect(cls.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"]).toBe("false");
  });

  it("the ClusterRole grants exactly the least privilege: list/watch what is read, get on Secrets, status and Events writes", () => {
    const role = the<{ rules: IPolicyRule[] }>("ClusterRole");
    const read = "list,watch";
    const status = "patch,update";
    expect(grants(role.rules)).toEqual({
      "core/services": "get,list,watch",
      "core/endpoints": read,
      "core/namespaces": read,
      "discovery.k8s.io/endpointslices": read,
      "networking.k8s.io/ingresses": read,
      "networking.k8s.io/ingressclasses": read,
      "gateway.networking.k8s.io/gatewayclasses": read,
      "gateway.networking.k8s.io/gateways": read,
      "gateway.networking.k8s.io/httproutes": read,
      "gateway.networking.k8s.io/referencegrants": read,
      "core/secrets": "get",
      "networking.k8s.io/ingresses/status": status,
      "gateway.networking.k8s.io/gatewayclasses/status": status,
      "gateway.networking.k8s.io/gateways/status": status,
      "gateway.networking.k8s.io/httproutes/status": status,
      "core/events": "create,patch",
      "events.k8s.io/events": "create,patch",
    });
    expect(role.rules.flatMap((r) => r.nonResourceURLs ?? [])).toEqual([]);
  });

  it("the Lease is the Role's only object, in ingressd's namespace, and both roles are bound to ingressd's ServiceAccount only", () => {
    const role = the<{ metadata: { namespace: string; name: string }; rules: IPolicyRule[] }>("Role");
    expect(grants(role.rules)).toEqual({
      "coordination.k8s.io/leases[ingressd-leader]": "get,update",
      // create cannot name its object (see role.yaml); it is the only unnamed grant.
      "coordination.k8s.io/leases": "create",
    });
    const account = the<Manifest>("ServiceAccount");
    expect(deployment.spec!.template.spec!.serviceAccountName).toBe(account.metadata.name);
    const subject = [{ kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace }];
    const clusterBinding = the<{ roleRef: unknown; subjects: unknown }>("ClusterRoleBinding");
    expect(clusterBinding).toMatchObject({ roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: the<Manifest>("ClusterRole").metadata.name }, subjects: subject });
    const binding = the<{ metadata: { namespace: string }; roleRef: unknown; subjects: unknown }>("RoleBinding");
    expect(binding).toMatchObject({ metadata: { namespace: role.metadata.namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects: subject });
  });

  it("the container's args are flags ingressd knows, and its ports and probes are the ones those flags open", () => {
    const c = container();
    // The kubelet expands $(VAR) from the container's env; these are downward-API values.
    const fieldEnv: Record<string, string> = { POD_NAME: "ingressd-0", POD_NAMESPACE: kustomization.namespace };
    const names = new Set(c.env!.map((e) => e.name));
    const args = c.args!.map((a) => a.replace(/\$\((\w+)\)/g, (_, v: string) => (names.has(v) ? fieldEnv[v]! : `$(${v})`)));
    expect(args.join(" ")).not.toContain("$(");
    expect(c.command).toBeUndefined(); // the image's ENTRYPOINT runs ingressd
    const unknownFlag = (arg: string): boolean => {
      try {
        parseOptions([arg], {});
        return false;
      } catch (err) {
        return err instanceof UsageError && err.message.startsWith("unknown option");
      }
    };
    expect(args.filter(unknownFlag), "flags ingressd does not know").toEqual([]);
    const options = parseOptions(args, { KUBERNETES_SERVICE_HOST: "10.96.0.1", ...fieldEnv });
    if (options === "help" || options === "version") throw new Error("unreachable");
    expect(options.cluster).toMatchObject({ inCluster: true, publishService: { namespace: kustomization.namespace, name: service.metadata!.name }, leaseNamespace: kustomization.namespace, identity: "ingressd-0" });
    expect(options.adminBind).toBe("0.0.0.0"); // the kubelet probes the pod's address

    const port = (name: string): number | undefined => c.ports!.find((p) => p.name === name)?.containerPort;
    expect({ http: port("http"), https: port("https"), admin: port("admin") }).toEqual({ http: options.httpPort, https: options.httpsPort, admin: options.adminPort });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/readyz", port: "admin" });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: "/healthz", port: "admin" });
    if (c.startupProbe) expect(c.startupProbe.httpGet).toMatchObject({ path: "/healthz", port: "admin" });
    expect(Object.fromEntries(c.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]))).toMatchObject({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" });
  });

  it("the Service exposes HTTP and HTTPS on 80 and 443 and never the admin port; it, the PDB and the Deployment select the pods", () => {
    expect(service.spec!.type).toBe("LoadBalancer");
    expect(service.spec!.ports!.map((p) => [p.port, p.targetPort])).toEqual([
      [80, "http"],
      [443, "https"],
    ]);
    const podLabels = deployment.spec!.template.metadata!.labels!;
    expect(podLabels).toMatchObject(service.spec!.selector!);
    expect(podLabels).toMatchObject(deployment.spec!.selector.matchLabels!);
    const pdb = the<{ spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number; minAvailable?: number } }>("PodDisruptionBudget");
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(Object.keys(service.spec!.selector!).length).toBeGreaterThan(0);
    // One pod of two may go during a drain, never both.
    expect(deployment.spec!.replicas).toBe(2);
    expect(pdb.spec.maxUnavailable ?? deployment.spec!.replicas! - pdb.spec.minAvailable!).toBe(1);
    const spread = deployment.spec!.template.spec!.topologySpreadConstraints ?? [];
    const antiAffinity = deployment.spec!.template.spec!.affinity?.podAntiAffinity;
    expect(spread.some((t) => t.topologyKey === "kubernetes.io/hostname") || antiAffinity !== undefined, "replicas spread over nodes").toBe(true);
  });

  it("the pod runs non-root on a read-only root, no capabilities, RuntimeDefault seccomp, writing only to emptyDirs at the image's data dir and /tmp", () => {
    const pod = deployment.spec!.template.spec!;
    const c = container();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
    expect(c.securityContext?.privileged ?? false).toBe(false);
    // uid 1000 is the `node` user of the official Node images the Dockerfile's runtime stage uses.
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(runtimeStage).toMatch(/^USER node$/m);
    expect(runtimeStage).toMatch(/^FROM node:/m);
    const dataDir = /INGRESSD_DATA_DIR=(\S+)/.exec(runtimeStage)?.[1];
    expect(dataDir).toBeDefined();
    const emptyDirs = new Set(pod.volumes!.filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    const writable = c.volumeMounts!.filter((m) => emptyDirs.has(m.name) && !m.readOnly).map((m) => m.mountPath).sort();
    expect(writable).toEqual([dataDir, "/tmp"].sort());
    expect(c.resources?.requests).toEqual({ cpu: "100m", memory: "128Mi" });
    expect(c.resources?.limits?.memory).toBeDefined();
  });

  it("the pod is given time to drain: its preStop pause plus ingressd's 10 s shutdown grace fit in terminationGracePeriodSeconds", () => {
    const pause = Number(container().lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    const ingressdGraceSeconds = 10; // startIngressd's default shutdownGraceMs
    expect(deployment.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(pause + ingressdGraceSeconds);
  });

  describe("the probes' paths on a running ingressd's admin server", () => {
    let rules: RulesDir;
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    beforeAll(async () => {
      rules = await rulesDir();
      proxy = await startProxy([rules.dir]);
    });
    afterAll(async () => {
      await proxy?.close();
      await rules?.cleanup();
    });

    it("answer 200 once ingressd serves its configuration", async () => {
      const c = container();
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        if (!probe) continue;
        const res = await get(`${proxy.admin}${probe.httpGet!.path}`);
        expect(res.status, probe.httpGet!.path).toBe(200);
      }
    });
  });
});
