import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { promethiumIcon } from './icon';
import { DatasetPanel } from './panel';

export { requestAPI, PromethiumAPIError } from './handler';
export type { IDataset, IDatasetList, IInfo } from './handler';
export { DatasetPanel } from './panel';

/** Commands of the Promethium panel. */
export namespace CommandIDs {
  export const open = 'promethium-lab:open';
  export const refresh = 'promethium-lab:refresh';
}

const PLUGIN_ID = 'promethium-lab:plugin';

/** Rank of the panel among the left side-bar tabs (file browser 100, running 200...). */
const PANEL_RANK = 200;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Promethium side panel: seismic datasets under the Jupyter server root, from the promethium_lab server extension.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null
  ) => {
    const panel = new DatasetPanel({ commands: app.commands });
    app.shell.add(panel, 'left', { rank: PANEL_RANK, type: 'Promethium' });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Promethium Panel',
      caption: 'Show the seismic datasets under the server root',
      icon: args => (args['isPalette'] ? undefined : promethiumIcon),
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Promethium Datasets',
      caption: 'List the seismic datasets under the server root again',
      execute: () => panel.refresh()
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.refresh]) {
        palette.addItem({ command, category: 'Promethium', args: { isPalette: true } });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        panel.root = (settings.get('root').composite as string) ?? '';
        panel.refreshInterval = (settings.get('refreshInterval').composite as number) ?? 0;
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('promethium-lab: could not load settings', reason);
        });
    }
  }
};

export default plugin;
