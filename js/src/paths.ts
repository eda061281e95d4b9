/**
 * Path helpers of the panel: POSIX paths relative to the Jupyter server root, as the
 * server extension, the file browser and the document manager use them. No Lab imports.
 */

/** The seismic file kinds by file-name suffix (`promethium_lab.io.formats.FILE_KINDS`). */
export const FILE_KINDS: Readonly<Record<string, string>> = {
  '.sgy': 'segy',
  '.segy': 'segy',
  '.su': 'su',
  '.mseed': 'mseed',
  '.miniseed': 'mseed',
  '.sac': 'sac',
  '.zarr': 'zarr'
};

/** Labels of the dataset kinds (the listing says `miniseed`, FILE_KINDS says `mseed`). */
export const KIND_LABELS: Readonly<Record<string, string>> = {
  segy: 'SEG-Y',
  su: 'SU',
  miniseed: 'miniSEED',
  mseed: 'miniSEED',
  sac: 'SAC',
  zarr: 'Zarr',
  mdio: 'MDIO'
};

/** The last component of a path (`a/b.sgy` → `b.sgy`); trailing slashes ignored. */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** The folder of a path (`a/b.sgy` → `a`, `b.sgy` → ``, `/x` → `/`). */
export function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) {
    return '';
  }
  return slash === 0 ? '/' : trimmed.slice(0, slash);
}

/** A file name without its (last) suffix (`f3.sgy` → `f3`, `.hidden` stays). */
export function stem(path: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Normalise a POSIX path: collapse `//` and `.`, resolve `..` where it can. */
export function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') {
      out.pop();
    } else if (part !== '..' || !absolute) {
      out.push(part);
    }
  }
  return (absolute ? '/' : '') + out.join('/');
}

/**
 * The path of `target` relative to the folder `fromDir` (both relative to the same root),
 * e.g. from `notebooks` to `surveys/f3.sgy` is `../surveys/f3.sgy`.
 */
export function relativePath(fromDir: string, target: string): string {
  const from = normalize(fromDir).split('/').filter(Boolean);
  const to = normalize(target).split('/').filter(Boolean);
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) {
    common += 1;
  }
  const parts = [...from.slice(common).map(() => '..'), ...to.slice(common)];
  return parts.length ? parts.join('/') : '.';
}

/**
 * A path as the file browser names it (relative to the server root), from a path a job
 * recorded: absolute paths under `serverRoot` lose the root, relative ones are kept;
 * null for an absolute path outside the root (or when the root is unknown).
 */
export function toServerPath(path: string, serverRoot: string): string | null {
  if (!path.startsWith('/')) {
    return normalize(path);
  }
  const root = normalize(serverRoot);
  if (!root.startsWith('/')) {
    return null;
  }
  const clean = normalize(path);
  if (clean === root) {
    return '';
  }
  return clean.startsWith(root === '/' ? '/' : `${root}/`)
    ? clean.slice(root === '/' ? 1 : root.length + 1)
    : null;
}

/** The FILE_KINDS kind of a file or store name (`null` for anything else). */
export function seismicKind(path: string): string | null {
  const name = basename(path).toLowerCase();
  const dot = name.lastIndexOf('.');
  if (dot <= 0) {
    return null;
  }
  return FILE_KINDS[name.slice(dot)] ?? null;
}

/** Whether a path names a Zarr store (a `.zarr` folder). */
export function isStorePath(path: string): boolean {
  return seismicKind(path) === 'zarr';
}

/** A Python string literal of `text` (JSON's escapes are Python's). */
export function pyString(text: string): string {
  return JSON.stringify(text);
}
