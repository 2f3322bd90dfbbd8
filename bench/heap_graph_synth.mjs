// Synthetic heap graphs in the LTHG layout, shaped like a Python service's heap: modules
// hold dicts and lists, which hold instances, which hold their attribute dicts, strings and
// ints; every instance points to its class; 30 % point back to their container (cycles);
// the odd edges go to shared objects or recent ones (or anywhere: `local: false`); 1 % of nodes are garbage rings
// that no root reaches; a few threads' frames hold locals. About 5 edges per node.
// Built straight into typed arrays: one JS object per node would not fit at 3M nodes.

const NONE = 0xffffffff;
const K = { REF: 0, ATTR: 1, ITEM: 2, KEY: 3, INDEX: 4, CELL: 5, LOCAL: 6, FIELD: 7, MEMBER: 8 };

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `local` (default): references mostly near in id order, as a heap walker numbering objects
 * in discovery order gives them. `local: false`: the odd edges go anywhere (uniformly random,
 * the worst case for caches).
 */
export function synthHeapGraph(N, { seed = 1, local = true } = {}) {
  const r = rng(seed);
  const strings = [];
  const intern = new Map();
  const s = (x) => {
    let i = intern.get(x);
    if (i === undefined) { i = strings.length; strings.push(x); intern.set(x, i); }
    return i;
  };
  const T = {
    module: s("builtins.module"), dict: s("builtins.dict"), list: s("builtins.list"), tuple: s("builtins.tuple"),
    str: s("builtins.str"), int: s("builtins.int"), type: s("builtins.type"), frame: s("builtins.frame"), fn: s("builtins.function"),
  };
  const classes = 200;
  const userTypes = Array.from({ length: classes }, (_, i) => s(`app.models.Model${i}`));
  const attrNames = Array.from({ length: 64 }, (_, i) => s(`attr${i}`));
  const keys = Array.from({ length: 1000 }, (_, i) => s(`key-${i}`));

  const modules = Math.max(10, Math.floor(N / 10000));
  const threads = 4;
  const garbage = Math.floor(N / 100);
  const nodeType = new Uint32Array(N), nodeSize = new Uint32Array(N);
  const nodeName = new Uint32Array(N).fill(NONE), nodeSite = new Uint32Array(N).fill(NONE);
  const parent = new Int32Array(N).fill(-1);
  // ids: [modules][threads' frames][classes][live objects][garbage]
  const firstClass = modules + threads, firstObj = firstClass + classes, firstGarbage = N - garbage;
  const shared = Math.max(1, Math.floor(N / 50));
  for (let i = 0; i < modules; i++) { nodeType[i] = T.module; nodeName[i] = s(`app.mod${i}`); nodeSize[i] = 72; }
  for (let i = modules; i < firstClass; i++) { nodeType[i] = T.frame; nodeName[i] = s(`Thread-${i - modules}`); nodeSize[i] = 400; }
  for (let i = firstClass; i < firstObj; i++) { nodeType[i] = T.type; nodeName[i] = userTypes[i - firstClass]; nodeSize[i] = 1064; parent[i] = Math.floor(r() * modules); }
  // live objects: each hangs off an earlier container, mostly near it (locality, like real heaps)
  for (let i = firstObj; i < firstGarbage; i++) {
    const x = r();
    if (x < 0.25) { nodeType[i] = T.dict; nodeSize[i] = 232; }
    else if (x < 0.35) { nodeType[i] = T.list; nodeSize[i] = 88; }
    else if (x < 0.45) { nodeType[i] = T.tuple; nodeSize[i] = 64; }
    else if (x < 0.65) { nodeType[i] = userTypes[Math.floor(r() * classes)]; nodeSize[i] = 48; }
    else if (x < 0.9) { nodeType[i] = T.str; nodeSize[i] = 50 + Math.floor(r() * 100); }
    else { nodeType[i] = T.int; nodeSize[i] = 28; }
    const y = r();
    parent[i] = i === firstObj || y < 0.002 ? Math.floor(r() * modules) : Math.max(firstObj, i - 1 - Math.floor(r() * r() * Math.min(i - firstObj, 5000)));
    if (i % 97 === 0) nodeSite[i] = s(`app/models.py:${10 + (i % 50)}`);
  }
  for (let i = firstGarbage; i < N; i++) { nodeType[i] = userTypes[i % classes]; nodeSize[i] = 48; }

  // out-degree: children + class ref + 1–3 extras; garbage: a ring of 10 per block
  const deg = new Uint32Array(N);
  for (let i = 0; i < N; i++) if (parent[i] >= 0) deg[parent[i]]++;
  const extra = new Uint8Array(N);
  for (let i = firstObj; i < firstGarbage; i++) extra[i] = 2 + Math.floor(r() * 5);
  for (let i = modules; i < firstClass; i++) extra[i] = 20;
  for (let i = firstGarbage; i < N; i++) extra[i] = 1;
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0; i < N; i++) firstEdge[i + 1] = firstEdge[i] + deg[i] + extra[i];
  const E = firstEdge[N];
  const edgeTarget = new Uint32Array(E), edgeLabel = new Uint32Array(E).fill(NONE), edgeKind = new Uint8Array(E);
  const cursor = firstEdge.slice(0, N);
  const childIndex = new Uint32Array(N);
  const put = (u, v, kind, label) => { const e = cursor[u]++; edgeTarget[e] = v; edgeKind[e] = kind; edgeLabel[e] = label; };
  for (let i = 0; i < N; i++) {
    const p = parent[i];
    if (p < 0) continue;
    const pt = nodeType[p];
    const n = childIndex[p]++;
    if (pt === T.module) put(p, i, K.ATTR, attrNames[n % attrNames.length]);
    else if (pt === T.dict) put(p, i, K.ITEM, keys[n % keys.length]);
    else if (pt === T.list || pt === T.tuple) put(p, i, K.INDEX, n);
    else if (pt === T.str || pt === T.int) put(p, i, K.REF, NONE); // (atomic in Python; a stand-in here)
    else put(p, i, K.ATTR, attrNames[n % attrNames.length]);
  }
  for (let i = modules; i < firstClass; i++) for (let j = 0; j < 20; j++) put(i, firstObj + Math.floor(r() * (firstGarbage - firstObj)), K.LOCAL, attrNames[j]);
  for (let i = firstObj; i < firstGarbage; i++) {
    for (let j = 0; j < extra[i]; j++) {
      const y = r();
      if (j === 0) put(i, firstClass + Math.floor(r() * classes), K.FIELD, s("__class__"));
      else if (y < 0.5 && parent[i] >= firstObj) put(i, parent[i], K.ATTR, s("parent"));
      else if (!local) put(i, firstObj + Math.floor(r() * (i - firstObj + 1)), K.REF, NONE);
      // shared objects (interned strings, constants: the first 2 %), else a recent object
      else if (r() < 0.5) put(i, firstObj + Math.floor(r() * Math.min(i - firstObj + 1, shared)), K.REF, NONE);
      else put(i, Math.max(firstObj, i - 1 - Math.floor(r() * 50000)), K.REF, NONE);
    }
  }
  for (let i = firstGarbage; i < N; i++) {
    const block = firstGarbage + Math.floor((i - firstGarbage) / 10) * 10;
    const next = i + 1 < N && i + 1 < block + 10 ? i + 1 : block;
    put(i, next, K.ATTR, s("next"));
  }
  const rootNode = new Uint32Array(modules + threads);
  const rootKind = new Uint8Array(modules + threads);
  for (let i = 0; i < modules + threads; i++) { rootNode[i] = i; rootKind[i] = i < modules ? 1 : 2; }
  return { nodeCount: N, edgeCount: E, strings, flags: 0, nodeType, nodeSize, nodeName, nodeSite, firstEdge, edgeTarget, edgeLabel, edgeKind, rootNode, rootKind };
}
