import { Clipboard } from '@jupyterlab/apputils';
import { copyIcon, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  IDataset,
  IDatasetList,
  IInfo,
  PromethiumAPIError,
  requestAPI
} from './handler';
import { promethiumIcon } from './icon';

/** Labels of the dataset kinds the server extension reports. */
const KIND_LABELS: Record<string, string> = {
  segy: 'SEG-Y',
  su: 'SU',
  miniseed: 'miniSEED',
  sac: 'SAC',
  zarr: 'Zarr'
};

/** Command of the file browser that reveals a path (absent when it is disabled). */
const FILEBROWSER_GO_TO_PATH = 'filebrowser:go-to-path';

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Options of {@link DatasetPanel}. */
export interface IDatasetPanelOptions {
  commands: CommandRegistry;
}

/**
 * The Promethium side panel: what the server runs, and the seismic datasets
 * (SEG-Y, SU, miniSEED, SAC files and promethium/MDIO Zarr stores) under a folder
 * of the server root.
 */
export class DatasetPanel extends Widget {
  constructor(options: IDatasetPanelOptions) {
    super();
    this._commands = options.commands;
    this.id = 'promethium-lab-panel';
    this.addClass('pl-Panel');
    this.title.icon = promethiumIcon;
    this.title.caption = 'Promethium';
    this.title.label = '';

    const header = el('div', 'pl-Panel-header');
    header.appendChild(el('h2', 'pl-Panel-title', 'Promethium'));
    this._refreshButton = el('button', 'pl-Panel-refresh jp-Button');
    this._refreshButton.type = 'button';
    this._refreshButton.title = 'Refresh datasets';
    this._refreshButton.setAttribute('aria-label', 'Refresh datasets');
    refreshIcon.element({ container: this._refreshButton, tag: 'span' });
    this._refreshButton.addEventListener('click', () => void this.refresh());
    header.appendChild(this._refreshButton);
    this.node.appendChild(header);

    this._infoNode = el('div', 'pl-Panel-info', 'Connecting to the server…');
    this.node.appendChild(this._infoNode);

    const section = el('div', 'pl-Panel-section');
    section.appendChild(el('h3', 'pl-Panel-sectionTitle', 'Datasets'));
    this._rootNode = el('span', 'pl-Panel-root');
    section.appendChild(this._rootNode);
    this.node.appendChild(section);

    this._statusNode = el('div', 'pl-Panel-status');
    this._statusNode.setAttribute('role', 'status');
    this.node.appendChild(this._statusNode);

    this._listNode = el('ul', 'pl-DatasetList');
    this.node.appendChild(this._listNode);
    this._renderRoot();
  }

  /** Folder scanned for datasets, relative to the server root ('' is the root). */
  get root(): string {
    return this._root;
  }
  set root(value: string) {
    const root = value.replace(/^\/+|\/+$/g, '');
    if (root !== this._root) {
      this._root = root;
      this._renderRoot();
      if (this._loaded) {
        void this.refresh();
      }
    }
  }

  /** Seconds between automatic refreshes while the panel is visible (0: never). */
  set refreshInterval(seconds: number) {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
    if (seconds > 0) {
      this._timer = window.setInterval(() => {
        if (this.isVisible && !this._busy) {
          void this.refresh();
        }
      }, seconds * 1000);
    }
  }

  /** Ask the server for its info and the datasets again. */
  async refresh(): Promise<void> {
    const request = ++this._request;
    this._busy = true;
    this._loaded = true;
    this.node.setAttribute('aria-busy', 'true');
    this._refreshButton.disabled = true;
    this._statusNode.className = 'pl-Panel-status';
    this._statusNode.textContent = 'Looking for datasets…';
    try {
      const [info, list] = await Promise.all([
        this._info ? Promise.resolve(this._info) : requestAPI<IInfo>('info'),
        requestAPI<IDatasetList>('datasets', this._root ? { root: this._root } : {})
      ]);
      if (request !== this._request) {
        return;
      }
      this._info = info;
      this._renderInfo(info);
      this._renderList(list);
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._renderError(error);
    } finally {
      if (request === this._request) {
        this._busy = false;
        this.node.removeAttribute('aria-busy');
        this._refreshButton.disabled = false;
      }
    }
  }

  /** Load on first show, so a Lab that never opens the panel sends no request. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._loaded) {
      void this.refresh();
    }
  }

  dispose(): void {
    this.refreshInterval = 0;
    super.dispose();
  }

  private _renderRoot(): void {
    this._rootNode.textContent = `in /${this._root}`;
    this._rootNode.title = `Folder scanned, relative to the server root: /${this._root}`;
  }

  private _renderInfo(info: IInfo): void {
    this._infoNode.textContent = `promethium_lab ${info.version} · Python ${info.python}`;
    this._infoNode.title = `Data directory: ${info.data_dir}`;
  }

  private _renderError(error: unknown): void {
    this._listNode.replaceChildren();
    this._statusNode.className = 'pl-Panel-status pl-mod-error';
    if (error instanceof PromethiumAPIError) {
      this._statusNode.textContent = `${error.code}: ${error.message}`;
      if (error.hint) {
        this._statusNode.appendChild(el('div', 'pl-Panel-hint', error.hint));
      }
    } else {
      this._statusNode.textContent = `Could not reach the promethium_lab server extension: ${String(
        error
      )}`;
      this._statusNode.appendChild(
        el(
          'div',
          'pl-Panel-hint',
          'check that `jupyter server extension list` shows promethium_lab enabled'
        )
      );
    }
  }

  private _renderList(list: IDatasetList): void {
    const n = list.datasets.length;
    this._statusNode.className = 'pl-Panel-status';
    if (n === 0) {
      this._statusNode.textContent =
        'No SEG-Y, SU, miniSEED, SAC files or promethium/MDIO Zarr stores ' +
        `within ${list.max_depth} folder levels.`;
    } else {
      this._statusNode.textContent =
        `${n} dataset${n === 1 ? '' : 's'}` +
        (list.truncated ? ' (listing stopped early: narrow the folder)' : '');
    }
    this._listNode.replaceChildren(...list.datasets.map(d => this._renderItem(d)));
  }

  private _renderItem(dataset: IDataset): HTMLLIElement {
    const item = el('li', 'pl-Dataset');
    item.dataset.kind = dataset.kind;
    item.dataset.path = dataset.path;
    item.title = `${dataset.path}\nmodified ${dataset.modified}`;

    const label =
      dataset.kind === 'zarr' && dataset.flavor === 'mdio'
        ? 'MDIO'
        : KIND_LABELS[dataset.kind] ?? dataset.kind;
    item.appendChild(el('span', `pl-Dataset-badge pl-mod-${dataset.kind}`, label));

    const body = el('div', 'pl-Dataset-body');
    const name = el('span', 'pl-Dataset-name', dataset.name);
    if (this._commands.hasCommand(FILEBROWSER_GO_TO_PATH)) {
      name.classList.add('pl-mod-link');
      name.title = 'Show in the file browser';
      name.addEventListener('click', () => {
        void this._commands.execute(FILEBROWSER_GO_TO_PATH, {
          path: dataset.path,
          showBrowser: true
        });
      });
    }
    body.appendChild(name);

    const details: string[] = [];
    const slash = dataset.path.lastIndexOf('/');
    details.push(slash > 0 ? `${dataset.path.slice(0, slash)}/` : '/');
    if (dataset.size !== null) {
      details.push(formatBytes(dataset.size));
    }
    if (dataset.geometry) {
      details.push(dataset.geometry);
    }
    if (dataset.shape) {
      details.push(dataset.shape.join(' × '));
    }
    if (dataset.kind === 'zarr' && dataset.consolidated === false) {
      details.push('not consolidated');
    }
    body.appendChild(el('span', 'pl-Dataset-detail', details.join(' · ')));
    item.appendChild(body);

    const copy = el('button', 'pl-Dataset-copy jp-Button');
    copy.type = 'button';
    copy.title = 'Copy the path (relative to the server root)';
    copy.setAttribute('aria-label', `Copy the path of ${dataset.name}`);
    copyIcon.element({ container: copy, tag: 'span' });
    copy.addEventListener('click', () => Clipboard.copyToSystem(dataset.path));
    item.appendChild(copy);
    return item;
  }

  private _commands: CommandRegistry;
  private _root = '';
  private _info: IInfo | null = null;
  private _request = 0;
  private _busy = false;
  private _loaded = false;
  private _timer: number | null = null;
  private _refreshButton: HTMLButtonElement;
  private _infoNode: HTMLDivElement;
  private _rootNode: HTMLSpanElement;
  private _statusNode: HTMLDivElement;
  private _listNode: HTMLUListElement;
}
