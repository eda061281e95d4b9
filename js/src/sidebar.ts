import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { getInfo } from './api';
import { el } from './dom';
import { promethiumIcon } from './icon';

/** Tabs of the side panel, in order. */
export type TabName = 'datasets' | 'jobs' | 'models' | 'submit';

/**
 * The Promethium side panel: a brand header (version, Python) and a tab strip over one
 * widget per tab. Only the selected tab is shown, so each tab loads (and the Jobs tab
 * polls) only while it is visible.
 */
export class PromethiumSidebar extends Panel {
  constructor(tabs: Record<TabName, Widget>) {
    super();
    this.id = 'promethium-lab-panel';
    this.addClass('pl-Panel');
    this.title.icon = promethiumIcon;
    this.title.caption = 'Promethium';
    this.title.label = '';
    this._tabs = tabs;

    const header = new Widget({ node: el('div', 'pl-Panel-header') });
    header.node.appendChild(el('h2', 'pl-Panel-title', 'Promethium'));
    this._info = el('div', 'pl-Panel-info', 'Connecting to the server…');
    header.node.appendChild(this._info);
    this.addWidget(header);

    const strip = new Widget({ node: el('div', 'pl-TabStrip') });
    strip.node.setAttribute('role', 'tablist');
    for (const [name, widget] of Object.entries(tabs) as [TabName, Widget][]) {
      const tab = el('button', 'pl-TabStrip-tab', widget.title.label);
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.dataset.tab = name;
      tab.id = `${widget.id}-tab`;
      tab.setAttribute('aria-controls', widget.id);
      tab.addEventListener('click', () => this.showTab(name));
      this._buttons.set(name, tab);
      strip.node.appendChild(tab);
      widget.node.setAttribute('role', 'tabpanel');
      widget.node.setAttribute('aria-labelledby', tab.id);
    }
    this.addWidget(strip);
    for (const widget of Object.values(tabs)) {
      widget.hide();
      this.addWidget(widget);
    }
    this.showTab('datasets');
  }

  /** The selected tab. */
  get current(): TabName {
    return this._current;
  }

  /** Select a tab. */
  showTab(name: TabName): void {
    this._current = name;
    for (const [other, widget] of Object.entries(this._tabs) as [TabName, Widget][]) {
      const selected = other === name;
      this._buttons.get(other)?.setAttribute('aria-selected', String(selected));
      this._buttons.get(other)?.classList.toggle('pl-mod-selected', selected);
      widget.setHidden(!selected);
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._infoLoaded) {
      this._infoLoaded = true;
      getInfo()
        .then(info => {
          this._info.textContent = `promethium_lab ${info.version} · Python ${info.python}`;
          this._info.title = `Data directory: ${info.data_dir}`;
        })
        .catch(() => {
          this._infoLoaded = false;
          this._info.textContent = 'The promethium_lab server extension does not answer.';
        });
    }
  }

  private _tabs: Record<TabName, Widget>;
  private _buttons = new Map<TabName, HTMLButtonElement>();
  private _current: TabName = 'datasets';
  private _info: HTMLDivElement;
  private _infoLoaded = false;
}
