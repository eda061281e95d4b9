import { describe, expect, it } from 'vitest';

import { openDatasetCode, comparisonCells, hasComparison } from '../src/codegen';
import {
  basename,
  dirname,
  isStorePath,
  normalize,
  pyString,
  relativePath,
  seismicKind,
  stem,
  toServerPath
} from '../src/paths';

describe('path helpers', () => {
  it('split names and folders', () => {
    expect(basename('surveys/f3.sgy')).toBe('f3.sgy');
    expect(basename('stores/f3.zarr/')).toBe('f3.zarr');
    expect(dirname('surveys/f3.sgy')).toBe('surveys');
    expect(dirname('f3.sgy')).toBe('');
    expect(dirname('/f3.sgy')).toBe('/');
    expect(stem('a/f3.sgy')).toBe('f3');
    expect(stem('.hidden')).toBe('.hidden');
    expect(normalize('a//b/./c/../d')).toBe('a/b/d');
    expect(normalize('/x/../../y')).toBe('/y');
  });

  it('make a dataset path relative to a notebook folder', () => {
    expect(relativePath('', 'surveys/f3.sgy')).toBe('surveys/f3.sgy');
    expect(relativePath('notebooks', 'surveys/f3.sgy')).toBe('../surveys/f3.sgy');
    expect(relativePath('surveys', 'surveys/f3.sgy')).toBe('f3.sgy');
    expect(relativePath('a/b', 'a/c/d.zarr')).toBe('../c/d.zarr');
    expect(relativePath('a', 'a')).toBe('.');
  });

  it('turn recorded absolute paths into server paths, and refuse those outside', () => {
    expect(toServerPath('/srv/root/out/filled.zarr', '/srv/root')).toBe('out/filled.zarr');
    expect(toServerPath('/srv/root/', '/srv/root')).toBe('');
    expect(toServerPath('/srv/rootless/x.sgy', '/srv/root')).toBeNull();
    expect(toServerPath('/etc/passwd', '/srv/root')).toBeNull();
    expect(toServerPath('rel/x.sgy', '/srv/root')).toBe('rel/x.sgy');
    expect(toServerPath('/srv/root/x.sgy', '')).toBeNull();
    expect(toServerPath('/a/x.sgy', '/')).toBe('a/x.sgy');
  });

  it('know the seismic suffixes of promethium_lab.io.formats.FILE_KINDS', () => {
    expect(seismicKind('x/F3.SGY')).toBe('segy');
    expect(seismicKind('a.segy')).toBe('segy');
    expect(seismicKind('a.su')).toBe('su');
    expect(seismicKind('a.miniseed')).toBe('mseed');
    expect(seismicKind('a.mseed')).toBe('mseed');
    expect(seismicKind('a.SAC')).toBe('sac');
    expect(seismicKind('a.zarr/')).toBe('zarr');
    expect(seismicKind('a.txt')).toBeNull();
    expect(seismicKind('.sgy')).toBeNull();
    expect(isStorePath('x/f3.zarr')).toBe(true);
    expect(isStorePath('x/f3.sgy')).toBe(false);
  });

  it('quote Python strings', () => {
    expect(pyString('a "b"\\c')).toBe('"a \\"b\\"\\\\c"');
  });
});

describe('notebook code', () => {
  it('opens a dataset relative to the notebook', () => {
    const code = openDatasetCode('surveys/f3 "x".sgy', 'notebooks');
    expect(code).toContain('import promethium_lab.workflows as wf');
    expect(code).toContain('ds = wf.open_survey("../surveys/f3 \\"x\\".sgy")');
  });

  const record = {
    id: 'abc123',
    kind: 'reconstruct',
    state: 'completed' as const,
    parameters: { source: '/root/f3.sgy', method: 'linear', out: '/root/filled.zarr' },
    artifacts: { output: '/root/filled.zarr' },
    outputs: ['/root/filled.zarr']
  };

  it('compares a completed job input and output', () => {
    expect(hasComparison(record)).toBe(true);
    const cells = comparisonCells(record);
    expect(cells).toHaveLength(2);
    expect(cells[0]).toContain('before = wf.open_survey("/root/f3.sgy")');
    expect(cells[0]).toContain('after = wf.open_survey("/root/filled.zarr")');
    expect(cells[0]).toContain('(linear)');
    expect(cells[1]).toBe('viz.compare(before, after)');
    const withRef = comparisonCells({
      ...record,
      parameters: { ...record.parameters, reference: '/root/full.zarr' }
    });
    expect(withRef[1]).toBe('viz.compare(before, after, reference=reference)');
  });

  it('has no comparison for an unfinished job or one without a survey output', () => {
    expect(hasComparison({ ...record, state: 'running' })).toBe(false);
    expect(
      hasComparison({ ...record, artifacts: { output: '/root/model' }, outputs: [] })
    ).toBe(false);
    expect(() => comparisonCells({ ...record, parameters: {}, artifacts: {}, outputs: [] })).toThrow(
      /no input/
    );
  });
});
