import { MainAreaWidget } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { getSectionImage, getSummary } from './api';
import { button, el, ellipsized, renderError } from './dom';
import { labelStep, summaryRows } from './format';
import { promethiumIcon } from './icon';
import { KIND_LABELS, basename, seismicKind } from './paths';
import type { IDatasetSummary } from './types.gen';

/** Actions a section view offers beside the section. */
export interface ISectionActions {
  /** Open the dataset in a new notebook. */
  openInNotebook?: (path: string) => void;
  /** Ingest it into a store (files only). */
  ingest?: (path: string) => void;
}

/**
 * A dataset's section and summary: the geometry summary (headers only) beside a section
 * image from `datasets/preview.png`, with a choice of the trace dim to fix and its label
 * (inline / crossline of a cube, shot of gathers). The main-area section view and the
 * seismic file viewer both show one.
 */
export class SectionView extends Widget {
  constructor(path: string, actions: ISectionActions = {}) {
    super();
    this.addClass('pl-SectionView');
    this._path = path;

    const head = el('div', 'pl-SectionView-head');
    const kind = seismicKind(path);
    head.appendChild(el('span', 'pl-Badge', KIND_LABELS[kind ?? ''] ?? 'Data'));
    head.appendChild(ellipsized('span', 'pl-SectionView-path', path));
    const tools = el('div', 'pl-SectionView-tools');
    if (actions.openInNotebook) {
      tools.appendChild(
        button('pl-SectionView-notebook', 'Open in a notebook', () => actions.openInNotebook!(this._path), {
          title: 'Open a new notebook with the code that opens this dataset'
        })
      );
    }
    if (actions.ingest && kind !== 'zarr') {
      tools.appendChild(
        button('pl-SectionView-ingest', 'Ingest…', () => actions.ingest!(this._path), {
          title: 'Ingest this file into a chunked, compressed Zarr store (a job)'
        })
      );
    }
    head.appendChild(tools);
    this.node.appendChild(head);

    const body = el('div', 'pl-SectionView-body');
    this._controls = el('div', 'pl-SectionView-controls');
    this._figure = el('div', 'pl-SectionView-figure');
    this._image = el('img', 'pl-SectionView-image');
    this._image.alt = `Section of ${basename(path)}`;
    this._figure.appendChild(this._image);
    this._status = el('div', 'pl-SectionView-status', 'Reading the headers…');
    this._status.setAttribute('role', 'status');
    this._summary = el('table', 'pl-SectionView-summary');
    const left = el('div', 'pl-SectionView-side');
    left.append(this._controls, this._summary);
    body.append(left, this._figure);
    this.node.append(this._status, body);
  }

  /** The dataset, relative to the server root. */
  get path(): string {
    return this._path;
  }
  set path(value: string) {
    if (value !== this._path) {
      this._path = value;
      if (this.isVisible) {
        void this.load();
      }
    }
  }

  /** The fixed trace dims of the section shown. */
  get selection(): Record<string, number> {
    return { ...this._selection };
  }

  /** Read the summary and draw the section. */
  async load(): Promise<void> {
    this._loaded = true;
    this._status.className = 'pl-SectionView-status';
    this._status.textContent = 'Reading the headers…';
    try {
      const summary = await getSummary(this._path);
      this._renderSummary(summary);
      this._renderControls(summary);
      await this._draw();
    } catch (error) {
      renderError(this._status, error);
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._loaded) {
      void this.load();
    }
  }

  /** Redraw at the new size once the frame stops changing (the figure is drawn to fit). */
  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    if (!this._loaded || !this._drawnSize) {
      return;
    }
    window.clearTimeout(this._resizeTimer);
    this._resizeTimer = window.setTimeout(() => {
      const [w, h] = this._drawnSize ?? [0, 0];
      const dw = Math.abs(this._figure.clientWidth - w);
      const dh = Math.abs(this._figure.clientHeight - h);
      if (this.isVisible && (dw > 24 || dh > 24)) {
        void this._draw();
      }
    }, 250);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._loaded && this.isVisible) {
      void this.load();
    }
  }

  dispose(): void {
    window.clearTimeout(this._resizeTimer);
    if (this._url) {
      URL.revokeObjectURL(this._url);
    }
    super.dispose();
  }

  private _renderSummary(summary: IDatasetSummary): void {
    this._summary.replaceChildren(
      ...summaryRows(summary).map(([label, text]) => {
        const row = el('tr', 'pl-SectionView-row');
        const cell = el('td', '');
        cell.appendChild(ellipsized('span', 'pl-SectionView-value', text));
        row.append(el('th', '', label), cell);
        return row;
      })
    );
  }

  private _renderControls(summary: IDatasetSummary): void {
    this._controls.replaceChildren();
    const dims = Object.keys(summary.trace_dims).filter(d => summary.trace_dims[d].length === 2);
    if (dims.length < 2) {
      return; // a line or a gather: one section only
    }
    // fix the first trace dim by default (an inline of a cube, a shot of gathers)
    if (!this._fixed || !dims.includes(this._fixed)) {
      this._fixed = dims[0];
    }
    const direction = el('select', 'pl-SectionView-dim');
    direction.setAttribute('aria-label', 'Section along');
    for (const dim of dims) {
      const option = el('option', '', dim);
      option.value = dim;
      direction.appendChild(option);
    }
    direction.value = this._fixed;
    const label = el('input', 'pl-SectionView-label');
    label.type = 'number';
    label.setAttribute('aria-label', 'Label of the fixed dim');
    const slider = el('input', 'pl-SectionView-slider');
    slider.type = 'range';
    slider.setAttribute('aria-label', 'Label of the fixed dim (slider)');
    const setRange = (): void => {
      const [first, last] = summary.trace_dims[this._fixed];
      const step = labelStep(first, last, summary.dims[this._fixed] ?? 0);
      for (const input of [label, slider]) {
        input.min = String(first);
        input.max = String(last);
        input.step = String(step);
      }
      const middle = first + step * Math.floor((last - first) / step / 2);
      const value = this._selection[this._fixed] ?? middle;
      this._selection = { [this._fixed]: value };
      label.value = slider.value = String(value);
    };
    setRange();
    let timer = 0;
    const pick = (value: string, from: HTMLInputElement): void => {
      const n = Number(value);
      if (!Number.isFinite(n)) {
        return;
      }
      (from === label ? slider : label).value = value;
      this._selection = { [this._fixed]: n };
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void this._draw(), 150);
    };
    label.addEventListener('change', () => pick(label.value, label));
    slider.addEventListener('input', () => pick(slider.value, slider));
    direction.addEventListener('change', () => {
      this._fixed = direction.value;
      this._selection = {};
      setRange();
      void this._draw();
    });
    const row = el('label', 'pl-SectionView-control');
    row.append(el('span', '', 'Fix'), direction, label);
    this._controls.append(row, slider);
  }

  private async _draw(): Promise<void> {
    const request = ++this._request;
    this._status.className = 'pl-SectionView-status';
    const where = Object.entries(this._selection)
      .map(([d, v]) => `${d} ${v}`)
      .join(', ');
    this._status.textContent = `Drawing the section${where ? ` at ${where}` : ''}…`;
    this._figure.setAttribute('aria-busy', 'true');
    try {
      // the server draws the figure at the frame's size, axes included
      const width = Math.max(320, Math.min(4096, Math.round(this._figure.clientWidth || 900)));
      const height = Math.max(240, Math.min(4096, Math.round(this._figure.clientHeight || 600)));
      this._drawnSize = [width, height];
      const blob = await getSectionImage(this._path, this._selection, width, height, true);
      if (request !== this._request || this.isDisposed) {
        return;
      }
      if (this._url) {
        URL.revokeObjectURL(this._url);
      }
      this._url = URL.createObjectURL(blob);
      this._image.src = this._url;
      this._status.textContent = where ? `Section at ${where}` : 'Section';
      this._image.title = this._status.textContent;
    } catch (error) {
      if (request === this._request) {
        renderError(this._status, error);
      }
    } finally {
      if (request === this._request) {
        this._figure.removeAttribute('aria-busy');
      }
    }
  }

  private _path: string;
  private _loaded = false;
  private _fixed = '';
  private _selection: Record<string, number> = {};
  private _request = 0;
  private _drawnSize: [number, number] | null = null;
  private _resizeTimer = 0;
  private _url = '';
  private _status: HTMLDivElement;
  private _controls: HTMLDivElement;
  private _summary: HTMLTableElement;
  private _figure: HTMLDivElement;
  private _image: HTMLImageElement;
}

/** A section view in the main area (one per dataset: opening it again shows it). */
export function sectionViewWidget(path: string, actions: ISectionActions): MainAreaWidget<SectionView> {
  const content = new SectionView(path, actions);
  const widget = new MainAreaWidget({ content });
  widget.id = `promethium-section-${encodeURIComponent(path)}`;
  widget.title.label = basename(path);
  widget.title.caption = `Section view of ${path}`;
  widget.title.icon = promethiumIcon;
  widget.title.closable = true;
  widget.addClass('pl-SectionViewer');
  return widget;
}
