/**
 * What `leaktrail attach PID` learns about its target before touching it: does the process
 * exist, is it CPython, which version (from the names of its executable and the libraries
 * it mapped), may we trace it. Linux only: everything comes from /proc.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, delimiter, dirname, join } from "node:path";

export type AttachErrorKind =
  | "bad-pid"
  | "no-process"
  | "not-python"
  | "too-old"
  | "permission"
  | "no-gdb"
  | "injection"
  | "other";

/** A failure the user can act on; the CLI prints its message as one line. */
export class AttachError extends Error {
  constructor(message: string, readonly kind: AttachErrorKind) {
    super(message);
  }
}

export interface PyVersion {
  major: number;
  minor: number;
}

export interface VersionClue {
  version: PyVersion;
  /** The name the version was read from, e.g. "libpython3.11.so.1.0" or "python3.9". */
  from: string;
}

export interface TargetInfo {
  pid: number;
  /** The executable, as /proc/PID/exe names it (" (deleted)" removed). */
  exe: string;
  exeDeleted: boolean;
  /** The libpython the process mapped, if it uses a shared one. */
  libpython: string | null;
  version: PyVersion | null;
  versionFrom: string | null;
  uid: number | null;
  gid: number | null;
}

export const MIN_VERSION: PyVersion = { major: 3, minor: 9 };
export const REMOTE_EXEC_VERSION: PyVersion = { major: 3, minor: 14 };

export function versionAtLeast(v: PyVersion, min: PyVersion): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}

export function formatVersion(v: PyVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Parses a PID argument: digits only, no sign, no leading zeros games, within pid range. */
export function parsePid(raw: string): number {
  if (!/^[0-9]+$/.test(raw)) throw new AttachError(`'${raw}' is not a process id (give a number, e.g. leaktrail attach 1234)`, "bad-pid");
  const pid = Number(raw);
  if (!Number.isSafeInteger(pid) || pid < 1 || pid > 4194304) throw new AttachError(`'${raw}' is not a valid process id`, "bad-pid");
  return pid;
}

const LIBPYTHON = /(?:^|\/)(libpython(\d+)\.(\d+)[a-z]*\.so[^\s/]*)/;
const EXE_NAME = /^python(\d+)\.(\d+)[a-z]*$/;
const EXT_ABI = /\.cpython-(\d)(\d+)[a-z]*-[^/\s]*\.so\b/;

/**
 * The Python version a process runs, read from names alone: a mapped libpythonX.Y (shared
 * builds, embedding applications), else an executable named pythonX.Y (static builds, which
 * /proc/PID/exe shows resolved through the python3 → python3.Y links), else the ABI tag of a
 * loaded extension module (…cpython-311-x86_64-linux-gnu.so). Null when none says.
 */
export function pythonVersionFromNames(exe: string, maps: string): VersionClue | null {
  const lib = LIBPYTHON.exec(maps);
  if (lib) return { version: { major: Number(lib[2]), minor: Number(lib[3]) }, from: lib[1] as string };
  const name = basename(exe);
  const m = EXE_NAME.exec(name);
  if (m) return { version: { major: Number(m[1]), minor: Number(m[2]) }, from: name };
  const ext = EXT_ABI.exec(maps);
  if (ext) return { version: { major: Number(ext[1]), minor: Number(ext[2]) }, from: `an extension module built for cpython-${ext[1]}${ext[2]}` };
  return null;
}

/** The path of the libpython a process mapped, if any. */
export function libpythonFromMaps(maps: string): string | null {
  for (const line of maps.split("\n")) {
    const path = line.slice(line.indexOf("/"));
    if (line.includes("/") && LIBPYTHON.test(path)) return path.trim();
  }
  return null;
}

/** Why a process looks like Python, or null when nothing does. */
export function pythonEvidence(exe: string, maps: string): string | null {
  if (/python/i.test(basename(exe))) return `its executable ${basename(exe)}`;
  if (LIBPYTHON.test(maps)) return "it loaded libpython";
  if (EXT_ABI.test(maps)) return "it loaded CPython extension modules";
  return null;
}

export function isPyPy(exe: string, maps: string): boolean {
  return /pypy/i.test(basename(exe)) || /libpypy/i.test(maps);
}

/** Which way into the target: gdb on 3.9–3.13 (and when the version is unknown), sys.remote_exec on 3.14+. */
export function injectionMethod(version: PyVersion | null): "gdb" | "remote-exec" {
  if (version && versionAtLeast(version, REMOTE_EXEC_VERSION)) return "remote-exec";
  return "gdb";
}

/** Reads "X.Y" as printed by a Python; null for anything else. */
export function parseVersionOutput(text: string): PyVersion | null {
  const m = /^\s*\(?(\d+)[.,]\s*(\d+)\)?\s*$/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

function readProc(path: string): { text: string | null; code: string | null } {
  try {
    return { text: readFileSync(path, "utf8"), code: null };
  } catch (err) {
    return { text: null, code: (err as NodeJS.ErrnoException).code ?? "EIO" };
  }
}

/** The state letter of /proc/PID/stat (R, S, D, Z, T, …), or null when it cannot be read. */
export function processState(pid: number): string | null {
  const { text } = readProc(`/proc/${pid}/stat`);
  if (!text) return null;
  const close = text.lastIndexOf(")");
  return close < 0 ? null : text.slice(close + 2, close + 3) || null;
}

/** True while the process exists and has not exited (a zombie has). */
export function processAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== "Z" && state !== "X";
}

function statusIds(pid: number): { uid: number | null; gid: number | null; tgid: number | null } {
  const { text } = readProc(`/proc/${pid}/status`);
  const field = (name: string) => {
    const m = text ? new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text) : null;
    return m ? Number(m[1]) : null;
  };
  return { uid: field("Uid"), gid: field("Gid"), tgid: field("Tgid") };
}

export function ptraceScope(): number | null {
  const { text } = readProc("/proc/sys/kernel/yama/ptrace_scope");
  const n = text === null ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

/** The advice that goes with "ptrace: Operation not permitted". */
export function permissionHint(target: { uid: number | null }): string {
  const me = process.getuid?.() ?? -1;
  if (target.uid !== null && me !== 0 && target.uid !== me) {
    return `it belongs to uid ${target.uid} and you are uid ${me}: run leaktrail as that user or as root`;
  }
  const scope = ptraceScope();
  if (scope === 3) return "ptrace is switched off on this machine (kernel.yama.ptrace_scope = 3; only a reboot turns it back on)";
  if (scope === 2) return "only root may trace processes here (kernel.yama.ptrace_scope = 2): run leaktrail as root";
  if (scope === 1 && me !== 0) {
    return "kernel.yama.ptrace_scope = 1 lets you trace only your own child processes: run leaktrail with sudo, or allow it with 'sudo sysctl kernel.yama.ptrace_scope=0'";
  }
  return "the kernel refused ptrace (in a container, start it with --cap-add=SYS_PTRACE; or run leaktrail as root)";
}

function noSuchProcess(pid: number): AttachError {
  return new AttachError(`no such process: ${pid}`, "no-process");
}

/**
 * Looks at /proc/PID and says what the target is; throws an AttachError for a process that
 * does not exist, is not CPython, or is too old. Runs `EXE -c …` only when no name tells the
 * version and the executable is called python-something.
 */
export function inspectTarget(pid: number): TargetInfo {
  if (!existsSync(`/proc/${pid}`)) {
    if (!existsSync("/proc/self")) throw new AttachError("attach needs Linux (/proc is missing)", "other");
    throw noSuchProcess(pid);
  }
  const state = processState(pid);
  if (state === null) throw noSuchProcess(pid);
  if (state === "Z" || state === "X") throw new AttachError(`no such process: ${pid} has exited (it is a zombie waiting for its parent)`, "no-process");
  const ids = statusIds(pid);
  if (ids.tgid !== null && ids.tgid !== pid) {
    throw new AttachError(`${pid} is a thread of process ${ids.tgid}, not a process: give ${ids.tgid}`, "bad-pid");
  }

  let exe: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") {
      throw new AttachError(`no permission to inspect process ${pid} (/proc/${pid}/exe: permission denied): ${permissionHint(ids)}`, "permission");
    }
    if (!existsSync(`/proc/${pid}`)) throw noSuchProcess(pid);
    throw new AttachError(`process ${pid} is not a Python process: it has no executable (a kernel thread?)`, "not-python");
  }
  const exeDeleted = exe.endsWith(" (deleted)");
  if (exeDeleted) exe = exe.slice(0, -" (deleted)".length);

  const maps = readProc(`/proc/${pid}/maps`);
  if (maps.text === null) {
    if (maps.code === "EACCES" || maps.code === "EPERM") {
      throw new AttachError(`no permission to inspect process ${pid} (/proc/${pid}/maps: permission denied): ${permissionHint(ids)}`, "permission");
    }
    throw noSuchProcess(pid);
  }
  const mapsText = maps.text;
  if (isPyPy(exe, mapsText)) {
    throw new AttachError(`process ${pid} (${exe}) runs PyPy; leaktrail attach supports CPython ${formatVersion(MIN_VERSION)} and newer`, "not-python");
  }
  if (pythonEvidence(exe, mapsText) === null) {
    throw new AttachError(
      `process ${pid} (${exe}) is not a Python process: neither its executable nor the libraries it loaded (/proc/${pid}/maps) name python or libpython`,
      "not-python",
    );
  }

  let clue = pythonVersionFromNames(exe, mapsText);
  if (!clue && /^python/i.test(basename(exe)) && !exeDeleted) {
    const r = spawnSync(exe, ["-E", "-S", "-c", "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"], {
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const v = r.status === 0 ? parseVersionOutput(r.stdout) : null;
    if (v) clue = { version: v, from: `${exe} -c 'import sys; print(sys.version_info[:2])'` };
  }
  if (clue && !versionAtLeast(clue.version, MIN_VERSION)) {
    throw new AttachError(
      `process ${pid} runs Python ${formatVersion(clue.version)} (from ${clue.from}); leaktrail attach needs Python ${formatVersion(MIN_VERSION)} or newer`,
      "too-old",
    );
  }
  return {
    pid,
    exe,
    exeDeleted,
    libpython: libpythonFromMaps(mapsText),
    version: clue?.version ?? null,
    versionFrom: clue?.from ?? null,
    uid: ids.uid,
    gid: ids.gid,
  };
}

/** Two processes in different mount namespaces (a container) do not share /tmp or our files. */
export function sameMountNamespace(pid: number): boolean {
  try {
    return readlinkSync("/proc/self/ns/mnt") === readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return true; // cannot tell: assume so, and let a failed connection say otherwise
  }
}

/** The first executable called `name` on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ""): string | null {
  if (name.includes("/")) return isExecutable(name) ? name : null;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * A Python of the target's own version that can call `sys.remote_exec` (3.14+): the
 * target's executable when it is a python, the bin/ next to its libpython, else pythonX.Y
 * on PATH.
 */
export function remoteExecPython(target: TargetInfo): string | null {
  const v = target.version;
  if (!v) return null;
  const name = `python${v.major}.${v.minor}`;
  const candidates: string[] = [];
  if (/^python/i.test(basename(target.exe)) && !target.exeDeleted) candidates.push(target.exe);
  if (target.libpython) candidates.push(join(dirname(dirname(target.libpython)), "bin", name));
  for (const c of candidates) if (isExecutable(c)) return c;
  return findOnPath(name);
}
