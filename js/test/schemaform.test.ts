import { describe, expect, it } from 'vitest';

import { collectParameters, formFields, initialText, parseField } from '../src/schemaform';
import { labelStep, summaryLine, summaryRows } from '../src/format';

// the `reconstruct` schema as GET promethium/workflows gives it (abridged)
const RECONSTRUCT = {
  properties: {
    source: { format: 'path', type: 'string', description: 'Survey.', title: 'source' },
    method: { default: 'auto', type: 'string', title: 'method', description: '`auto`, ...' },
    out: {
      default: null,
      title: 'out',
      anyOf: [{ format: 'path', type: 'string' }, { type: 'null' }],
      'x-promethium-output': true
    },
    blind: { default: null, anyOf: [{ type: 'boolean' }, { type: 'null' }], title: 'blind' },
    overlap: { default: 16, type: 'integer', title: 'overlap' },
    block_mb: { default: 32.0, type: 'number', title: 'block_mb' },
    overwrite: { default: false, type: 'boolean', title: 'overwrite' },
    chunks: { default: null, anyOf: [{ items: { type: 'integer' }, type: 'array' }, { type: 'null' }] },
    format: { default: 'source', anyOf: [{ type: 'string' }, { type: 'integer' }] },
    pattern: { default: 'random', enum: ['random', 'regular', 'gap'], type: 'string' },
    original_mask: { type: 'null', default: null },
    dataset: { 'x-python-only': true, title: 'dataset' }
  },
  required: ['source'],
  type: 'object'
};

describe('formFields', () => {
  const fields = formFields(RECONSTRUCT);
  const by = Object.fromEntries(fields.map(f => [f.name, f]));

  it('types every field from the schema', () => {
    expect(fields.map(f => f.name)).toEqual(Object.keys(RECONSTRUCT.properties));
    expect(by.source).toMatchObject({ type: 'path', required: true, nullable: false, description: 'Survey.' });
    expect(by.method).toMatchObject({ type: 'string', default: 'auto', required: false });
    expect(by.out).toMatchObject({ type: 'path', nullable: true, output: true });
    expect(by.blind).toMatchObject({ type: 'enum', options: [true, false], nullable: true });
    expect(by.overlap.type).toBe('integer');
    expect(by.block_mb.type).toBe('number');
    expect(by.overwrite.type).toBe('boolean');
    expect(by.chunks).toMatchObject({ type: 'json', accepts: ['array'], nullable: true });
    expect(by.format).toMatchObject({ type: 'json', accepts: ['string', 'integer'] });
    expect(by.pattern).toMatchObject({ type: 'enum', options: ['random', 'regular', 'gap'] });
    expect(by.original_mask.pythonOnly).toBe(true);
    expect(by.dataset.pythonOnly).toBe(true);
  });

  it('starts from the defaults', () => {
    expect(initialText(by.method)).toBe('auto');
    expect(initialText(by.out)).toBe('');
    expect(initialText(by.block_mb)).toBe('32');
    expect(initialText(by.format)).toBe('source');
  });

  it('parses typed values', () => {
    expect(parseField(by.overlap, '8')).toEqual({ value: 8 });
    expect(parseField(by.overlap, '8.5')).toEqual({ error: '8.5 is not a whole number' });
    expect(parseField(by.block_mb, '0.5')).toEqual({ value: 0.5 });
    expect(parseField(by.block_mb, 'big')).toEqual({ error: 'big is not a number' });
    expect(parseField(by.overwrite, true)).toEqual({ value: true });
    expect(parseField(by.chunks, '[1, 16, 75]')).toEqual({ value: [1, 16, 75] });
    expect(parseField(by.chunks, '[1,')).toEqual({ error: 'not JSON (e.g. [1, 2])' });
    expect(parseField(by.chunks, 'None')).toEqual({ value: null });
    expect(parseField(by.format, 'ibm')).toEqual({ value: 'ibm' });
    expect(parseField(by.format, '5')).toEqual({ value: 5 });
    expect(parseField(by.pattern, 'gap')).toEqual({ value: 'gap' });
    expect(parseField(by.source, ' ')).toEqual({ error: 'required' });
    expect(parseField(by.out, '')).toEqual({ omit: true });
  });

  it('collects parameters, leaving empty optional fields to the workflow', () => {
    const { parameters, errors } = collectParameters(fields, {
      source: 'f3.sgy',
      method: 'linear',
      out: 'filled.zarr',
      overlap: '',
      overwrite: false,
      chunks: 'x'
    });
    expect(parameters).toEqual({ source: 'f3.sgy', method: 'linear', out: 'filled.zarr', overwrite: false });
    expect(errors).toEqual({ chunks: 'not JSON (e.g. [1, 2])' });
  });
});

describe('summaries', () => {
  const summary = {
    path: 'f3.sgy',
    geometry: 'poststack3d',
    dims: { inline: 23, crossline: 18, time: 75 },
    traces: 414,
    live_traces: 400,
    absent_traces: 14,
    time_ms: [4, 300],
    sample_interval_ms: 4,
    segy_format: 1,
    trace_dims: { inline: [111, 133], crossline: [875, 892] },
    headers_digest: 'sha256:abc'
  };
  it('reads as one line and as a table', () => {
    expect(summaryLine(summary)).toBe('poststack3d · 23 × 18 × 75 · 14 absent · 4–300 ms');
    const rows = Object.fromEntries(summaryRows(summary));
    expect(rows['Traces']).toBe('400 live of 414 (14 absent)');
    expect(rows['Time']).toBe('4–300 ms, every 4 ms');
    expect(rows['inline']).toBe('111 … 133');
    expect(rows['Headers']).toBe('sha256:abc');
  });
  it('infers the label step of a regular grid', () => {
    expect(labelStep(111, 133, 23)).toBe(1);
    expect(labelStep(100, 200, 11)).toBe(10);
    expect(labelStep(1, 2, 3)).toBe(1);
    expect(labelStep(5, 5, 1)).toBe(1);
  });
});
