/**
 * The layer order of src/ (README, "Architecture"): data flows one way, source → parse
 * → validate → translate → snapshot → serve. A module may import its own layer's
 * modules and those of the layers below it, never above; the folders within one layer
 * (routing, upstream, tls and the L4 plan; proxy and the L4 listeners) do not import
 * each other. `npm test` runs this check.
 */
const LAYERS = [
  { name: "model", folders: ["^src/model/", "^src/net/"] },
  { name: "config", folders: ["^src/config/"] },
  { name: "translate", folders: ["^src/translate/"] },
  { name: "compile", folders: ["^src/routing/", "^src/upstream/", "^src/tls/", "^src/l4/plan\\.ts$"], peersApart: true },
  { name: "snapshot", folders: ["^src/snapshot/"] },
  { name: "serve", folders: ["^src/proxy/", "^src/l4/listeners\\.ts$"], peersApart: true },
  { name: "telemetry", folders: ["^src/telemetry/"] },
  { name: "cluster", folders: ["^src/cluster/"] },
  { name: "admin", folders: ["^src/admin/"] },
  { name: "server", folders: ["^src/server/"] },
  { name: "entry", folders: ["^src/commands/", "^src/demo/", "^src/cli\\.ts$", "^src/index\\.ts$"] },
];

const forbidden = [
  { name: "no-circular", severity: "error", comment: "modules import each other in a cycle", from: { path: "^src/" }, to: { circular: true } },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(i + 1).flatMap((l) => l.folders);
  if (above.length > 0) {
    forbidden.push({
      name: `layer-${layer.name}`,
      severity: "error",
      comment: `${layer.name} may import only its own layer and the layers below (${LAYERS.slice(0, i).map((l) => l.name).join(", ") || "none"})`,
      from: { path: layer.folders },
      to: { path: above },
    });
  }
  if (layer.peersApart) {
    for (const folder of layer.folders) {
      forbidden.push({
        name: `peers-${layer.name}`,
        severity: "error",
        comment: `the parts of the ${layer.name} layer stay apart: they meet in the layer above`,
        from: { path: folder },
        to: { path: layer.folders.filter((f) => f !== folder) },
      });
    }
  }
});
// Every folder of src/ has a place in the order.
forbidden.push({
  name: "unplaced-module",
  severity: "error",
  comment: "a module outside every layer: give it a folder in .dependency-cruiser.cjs",
  from: { path: "^src/", pathNot: LAYERS.flatMap((l) => l.folders) },
  to: {},
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
