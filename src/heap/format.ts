/**
 * The heap graph, `LTHG` version 1 — this file is its specification (docs/heap-graph.md
 * explains it with examples).
 *
 * The agent writes one graph per heap dump: a forked copy of the target walks every
 * gc-tracked object and everything they refer to, and writes this binary payload,
 * zlib-compressed. The CLI stores it base64-encoded in a `heap-graph` capture record.
 *
 * Payload layout, little-endian, every section starting on a 4-byte boundary:
 *
 *   "LTHG"                      magic, 4 bytes
 *   u32 version                 1
 *   u32 N                       nodes
 *   u32 E                       edges
 *   u32 S                       strings
 *   u32 R                       roots
 *   u32 flags                   bit 0: str/bytes values were included (nodeName holds them)
 *   u32 reserved                0
 *   S × (u32 byteLength, UTF-8 bytes)   the string table; then zero padding to 4 bytes
 *   u32[N]   nodeType           string index of the type, "module.qualname" ("builtins.dict")
 *   u32[N]   nodeSize           shallow size, sys.getsizeof (saturates at 2^32-1)
 *   u32[N]   nodeName           string index or NONE: a module's name, a class's or function's
 *                               qualname, a thread's name for its frame; with flag bit 0, a
 *                               str/bytes value (cut to 200 characters)
 *   u32[N]   nodeSite           string index of "file:line" where tracemalloc saw it allocated, or NONE
 *   u32[N+1] firstEdge          CSR offsets: node i's edges are [firstEdge[i], firstEdge[i+1])
 *   u32[E]   edgeTarget         node index
 *   u32[E]   edgeLabel          string index (ATTR, ITEM, KEY, CELL, LOCAL, FIELD), the index
 *                               itself (INDEX), or NONE (REF, MEMBER)
 *   u8[E]    edgeKind           {@link EdgeKind}; then zero padding to 4 bytes
 *   u32[R]   rootNode           node index
 *   u8[R]    rootKind           {@link RootKind}; then zero padding to 4 bytes
 *
 * Node ids are positions (0..N-1); they mean nothing across two graphs.
 */

export const HEAP_GRAPH_MAGIC = "LTHG";
export const HEAP_GRAPH_VERSION = 1;
/** "No string" in nodeName, nodeSite and edgeLabel. */
export const NONE = 0xffffffff;

/** How a person reads an edge; the label's meaning depends on it. */
export enum EdgeKind {
  /** A referent with no better name (what `gc.get_referents` gives). Label NONE. */
  REF = 0,
  /** `.name`: an instance's, module's or class's attribute, or a slot. Label: the name. */
  ATTR = 1,
  /** A dict's value, `['key']`. Label: the key as text (str keys verbatim, others repr'd briefly). */
  ITEM = 2,
  /** A dict's key object itself. Label: the key as text. */
  KEY = 3,
  /** A list's or tuple's item, `[i]`. Label: i (a number, not a string index). */
  INDEX = 4,
  /** A closure variable of a function (its cell's contents). Label: the variable's name. */
  CELL = 5,
  /** A local variable of a frame. Label: the variable's name. */
  LOCAL = 6,
  /** A named internal field: __defaults__, __globals__, __self__, __func__, tb_frame, f_back, __traceback__, … Label: the field's name. */
  FIELD = 7,
  /** A member of a set or frozenset. Label NONE. */
  MEMBER = 8,
}

/** Why a root is alive without any referrer in the graph. */
export enum RootKind {
  /** A module in `sys.modules`; its nodeName is the module's name. */
  MODULE = 1,
  /** The innermost frame of a thread's stack; its nodeName is the thread's name. */
  THREAD = 2,
  /** Held from outside the graph: C globals, C stacks, extension modules (its reference count exceeds the references the graph explains). */
  EXTERNAL = 3,
  /**
   * The measurer's own: leaktrail's modules and threads. Nodes reachable only from AGENT
   * roots are the agent's objects, not the program's: the engine leaves them out.
   */
  AGENT = 4,
}

/** A decoded heap graph: flat typed arrays, never one JS object per node. */
export interface HeapGraph {
  nodeCount: number;
  edgeCount: number;
  strings: string[];
  /** Bit 0: str/bytes values were included. */
  flags: number;
  nodeType: Uint32Array;
  nodeSize: Uint32Array;
  nodeName: Uint32Array;
  nodeSite: Uint32Array;
  /** Length nodeCount + 1. */
  firstEdge: Uint32Array;
  edgeTarget: Uint32Array;
  edgeLabel: Uint32Array;
  edgeKind: Uint8Array;
  rootNode: Uint32Array;
  rootKind: Uint8Array;
}
