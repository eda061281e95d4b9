import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { cancelJob, reproduceJob } from './api';
import { hasComparison, jobOutput } from './codegen';
import { DatasetsTab } from './datasets';
import { FILE_VIEWER, STORE_VIEWER, registerSeismicDocuments } from './documents';
import { promethiumIcon } from './icon';
import { ACTIVE_STATES } from './jobrow';
import { JobsTab } from './jobs';
import { JobFeed } from './livejobs';
import { ModelsTab } from './models';
import { insertDatasetCode, openComparison } from './notebooks';
import { dirname, isStorePath, seismicKind, stem, toServerPath } from './paths';
import { SectionView, sectionViewWidget } from './sectionview';
import { PromethiumSidebar } from './sidebar';
import { SubmitTab } from './submit';
import type { IJobRecord } from './types.gen';

export { requestAPI, PromethiumAPIError } from './handler';
export type { IDataset, IDatasetList, IInfo, IJobRecord } from './types.gen';
export { PromethiumSidebar } from './sidebar';

/** Commands of the Promethium panel. */
export namespace CommandIDs {
  export const open = 'promethium-lab:open';
  export const refresh = 'promethium-lab:refresh';
  export const showJobs = 'promethium-lab:show-jobs';
  export const showModels = 'promethium-lab:show-models';
  export const submit = 'promethium-lab:submit';
  export const openDataset = 'promethium-lab:open-dataset';
  export const sectionView = 'promethium-lab:section-view';
  export const insertCode = 'promethium-lab:insert-code';
  export const openInNotebook = 'promethium-lab:open-in-notebook';
  export const ingest = 'promethium-lab:ingest';
  export const copyPath = 'promethium-lab:copy-path';
  export const cancelJob = 'promethium-lab:cancel-job';
  export const openResult = 'promethium-lab:open-result';
  export const reproduce = 'promethium-lab:reproduce-job';
}

const PLUGIN_ID = 'promethium-lab:plugin';

/** Rank of the panel among the left side-bar tabs (file browser 100, running 200...). */
const PANEL_RANK = 200;

/** Schema-id of the file types (`data-file-type` of the file browser's items). */
const FILE_BROWSER_SEISMIC = '.jp-DirListing-item[data-file-type^="promethium-"]';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Promethium side panel (datasets, jobs, models, submit) and seismic file viewers, on the promethium_lab server extension.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette, INotebookTracker, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const { commands } = app;
    const serverRoot = PageConfig.getOption('serverRoot');
    // Open section views, by path; the tracker lets the layout restorer reopen them after
    // a reload (it replays the section-view command with each one's path).
    const sections = new Map<string, MainAreaWidget<SectionView>>();
    const sectionTracker = new WidgetTracker<MainAreaWidget<SectionView>>({ namespace: 'promethium-section' });

    // ---------------------------------------------------------------- actions
    const openDataset = (path: string): Promise<unknown> =>
      commands.execute('docmanager:open', { path, factory: isStorePath(path) ? STORE_VIEWER : FILE_VIEWER });

    const sectionActions = {
      openInNotebook: (path: string) => void insertDatasetCode(app, notebooks, path, { newNotebook: true }),
      ingest: (path: string) => void prepareIngest(path)
    };

    const openSection = (path: string): void => {
      let widget = sections.get(path);
      if (!widget || widget.isDisposed) {
        widget = sectionViewWidget(path, sectionActions);
        sections.set(path, widget);
        app.shell.add(widget, 'main');
        void sectionTracker.add(widget);
      }
      app.shell.activateById(widget.id);
    };

    const copyPath = (path: string): void => {
      Clipboard.copyToSystem(path);
      Notification.success(`Copied the path ${path}`, { autoClose: 2500 });
    };

    const feed = new JobFeed({
      events: app.serviceManager.events?.stream ?? null,
      openResult: record => void openResult(record)
    });

    const resultPath = (record: IJobRecord): string | null => {
      const output = jobOutput(record);
      if (!output || record.state !== 'completed' || seismicKind(output) === null) {
        return null;
      }
      return toServerPath(output, serverRoot);
    };

    const openResult = async (record: IJobRecord): Promise<void> => {
      try {
        if (hasComparison(record)) {
          await openComparison(app, record, serverRoot);
          return;
        }
        const path = resultPath(record);
        if (path) {
          openSection(path);
          return;
        }
        Notification.info(`Job ${record.id} produced: ${JSON.stringify(record.artifacts)}`, { autoClose: 6000 });
      } catch (error) {
        Notification.error(`Could not open the result of job ${record.id}: ${String(error)}`);
      }
    };

    const confirmCancel = async (record: IJobRecord): Promise<void> => {
      const survey = record.parameters['source'] ?? record.parameters['path'];
      const result = await showDialog({
        title: 'Cancel this job?',
        body:
          `${record.kind} job ${record.id}` +
          (typeof survey === 'string' ? ` on ${survey}` : '') +
          ' stops at its next check (between batches); its unfinished output is removed.',
        buttons: [Dialog.cancelButton({ label: 'Keep running' }), Dialog.warnButton({ label: 'Cancel job' })]
      });
      if (!result.button.accept) {
        return;
      }
      try {
        const updated = await cancelJob(record.id);
        feed.upsert(updated);
        void feed.refresh();
        Notification.info(`Asked job ${record.id} to stop`, { autoClose: 3000 });
      } catch (error) {
        Notification.error(`Could not cancel job ${record.id}: ${String((error as Error).message ?? error)}`);
      }
    };

    const reproduce = async (record: IJobRecord): Promise<void> => {
      try {
        const answer = await reproduceJob(record.id);
        await commands.execute('docmanager:open', { path: answer.path });
        Notification.info(
          `Wrote ${answer.path}: it re-runs ${record.kind} job ${record.id} and compares the result hashes`,
          { autoClose: 6000 }
        );
      } catch (error) {
        Notification.error(`Could not reproduce job ${record.id}: ${String((error as Error).message ?? error)}`);
      }
    };

    // ---------------------------------------------------------------- the panel
    const datasets = new DatasetsTab({
      open: d => void openDataset(d.path),
      sectionView: d => openSection(d.path),
      insertCode: d => void insertDatasetCode(app, notebooks, d.path),
      ingest: d => void prepareIngest(d.path),
      copyPath: d => copyPath(d.path)
    });
    const jobs = new JobsTab(
      feed,
      {
        cancel: r => void confirmCancel(r),
        openResult: r => void openResult(r),
        canOpenResult: r => hasComparison(r) || resultPath(r) !== null,
        reproduce: r => void reproduce(r)
      },
      serverRoot
    );
    const models = new ModelsTab();
    const submit = new SubmitTab(record => {
      feed.upsert(record);
      sidebar.showTab('jobs');
      void feed.refresh();
    });
    const sidebar = new PromethiumSidebar({ datasets, jobs, models, submit });
    app.shell.add(sidebar, 'left', { rank: PANEL_RANK, type: 'Promethium' });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }

    const prepareIngest = async (path: string): Promise<void> => {
      app.shell.activateById(sidebar.id);
      sidebar.showTab('submit');
      const folder = dirname(path);
      await submit.prefill('ingest', { path, store: `${folder ? `${folder}/` : ''}${stem(path)}.zarr` });
    };

    registerSeismicDocuments(app.docRegistry, sectionActions);

    // ---------------------------------------------------------------- targets
    /** The dataset a command is about: its `path` argument, the card right-clicked, or
     * the file browser's selected seismic item. */
    const targetPath = (args: ReadonlyPartialJSONObject): string | null => {
      if (typeof args['path'] === 'string') {
        return args['path'];
      }
      const card = app.contextMenuHitTest(node => node.classList.contains('pl-Dataset'));
      if (card?.dataset.path) {
        return card.dataset.path;
      }
      const item = app.contextMenuHitTest(node => node.classList.contains('jp-DirListing-item'));
      if (item && fileBrowser) {
        const selected = fileBrowser.selectedItems().next();
        if (!selected.done && seismicKind(selected.value.path)) {
          return selected.value.path;
        }
      }
      return null;
    };
    const askPath = async (title: string): Promise<string | null> => {
      const answer = await InputDialog.getText({
        title,
        label: 'Path of a SEG-Y, SU, miniSEED, SAC file or a Zarr store, relative to the server root'
      });
      return answer.button.accept && answer.value ? answer.value.trim() : null;
    };
    const withPath = (title: string, run: (path: string) => unknown) => async (args: ReadonlyPartialJSONObject) => {
      const path = targetPath(args) ?? (await askPath(title));
      if (path) {
        return run(path);
      }
    };
    const targetJob = async (args: ReadonlyPartialJSONObject, title: string, states: ReadonlySet<string> | null): Promise<IJobRecord | null> => {
      if (typeof args['id'] === 'string') {
        return feed.get(args['id']) ?? null;
      }
      const row = app.contextMenuHitTest(node => node.classList.contains('pl-Job'));
      if (row?.dataset.jobId) {
        return feed.get(row.dataset.jobId) ?? null;
      }
      await feed.refresh();
      const choices = feed.jobs.filter(j => !states || states.has(j.state));
      if (!choices.length) {
        Notification.info('No such job in the list');
        return null;
      }
      const answer = await InputDialog.getItem({
        title,
        items: choices.map(j => `${j.id} · ${j.kind} · ${j.state}`)
      });
      const id = answer.button.accept && answer.value ? answer.value.split(' ')[0] : null;
      return id ? feed.get(id) ?? null : null;
    };

    // ---------------------------------------------------------------- commands
    commands.addCommand(CommandIDs.open, {
      label: 'Open the Promethium Panel',
      caption: 'Show the seismic datasets, jobs and models',
      icon: args => (args['isPalette'] ? undefined : promethiumIcon),
      execute: () => app.shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Promethium Datasets and Jobs',
      execute: async () => {
        await Promise.all([datasets.refresh(), feed.refresh()]);
      }
    });
    commands.addCommand(CommandIDs.showJobs, {
      label: 'Show Promethium Jobs',
      execute: () => {
        app.shell.activateById(sidebar.id);
        sidebar.showTab('jobs');
      }
    });
    commands.addCommand(CommandIDs.showModels, {
      label: 'Show the Promethium Model Registry',
      execute: () => {
        app.shell.activateById(sidebar.id);
        sidebar.showTab('models');
      }
    });
    commands.addCommand(CommandIDs.submit, {
      label: 'Submit a Promethium Job…',
      execute: async args => {
        app.shell.activateById(sidebar.id);
        sidebar.showTab('submit');
        if (typeof args['kind'] === 'string') {
          await submit.prefill(args['kind'], (args['parameters'] as Record<string, string>) ?? {});
        }
      }
    });
    commands.addCommand(CommandIDs.openDataset, {
      label: args => (args['isPalette'] ? 'Open a Seismic Dataset…' : 'Open in Promethium'),
      caption: 'Open the seismic viewer: summary, section, open in a notebook',
      icon: args => (args['isPalette'] ? undefined : promethiumIcon),
      execute: withPath('Open a seismic dataset', openDataset)
    });
    commands.addCommand(CommandIDs.sectionView, {
      label: args => (args['isPalette'] ? 'Open a Section View…' : 'Section View'),
      execute: withPath('Section view of a dataset', openSection)
    });
    commands.addCommand(CommandIDs.insertCode, {
      label: 'Insert Code Opening It in the Notebook',
      execute: withPath('Insert the code opening a dataset', path => insertDatasetCode(app, notebooks, path))
    });
    commands.addCommand(CommandIDs.openInNotebook, {
      label: 'Open in a New Notebook',
      execute: withPath('Open a dataset in a new notebook', path =>
        insertDatasetCode(app, notebooks, path, { newNotebook: true })
      )
    });
    commands.addCommand(CommandIDs.ingest, {
      label: 'Ingest into a Zarr Store…',
      isVisible: args => {
        const path = targetPath(args);
        return path === null || !isStorePath(path);
      },
      execute: withPath('Ingest a seismic file', prepareIngest)
    });
    commands.addCommand(CommandIDs.copyPath, {
      label: 'Copy Path',
      execute: withPath('Copy the path of a dataset', copyPath)
    });
    commands.addCommand(CommandIDs.cancelJob, {
      label: 'Cancel a Promethium Job…',
      execute: async args => {
        const record = await targetJob(args, 'Cancel which job?', ACTIVE_STATES);
        if (record) {
          await confirmCancel(record);
        }
      }
    });
    commands.addCommand(CommandIDs.reproduce, {
      label: 'Reproduce a Promethium Job…',
      caption: 'Write the report notebook that re-runs a completed job with the same parameters',
      execute: async args => {
        const record = await targetJob(args, 'Reproduce which job?', new Set(['completed']));
        if (record) {
          await reproduce(record);
        }
      }
    });
    commands.addCommand(CommandIDs.openResult, {
      label: 'Open the Result of a Promethium Job…',
      execute: async args => {
        const record = await targetJob(args, 'Open the result of which job?', new Set(['completed']));
        if (record) {
          await openResult(record);
        }
      }
    });

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Promethium', args: { isPalette: true } });
      }
    }

    if (restorer) {
      void restorer.restore(sectionTracker, {
        command: CommandIDs.sectionView,
        args: widget => ({ path: widget.content.path }),
        name: widget => widget.content.path
      });
    }

    // ---------------------------------------------------------------- context menus
    let rank = 0;
    for (const command of [CommandIDs.openDataset, CommandIDs.sectionView, CommandIDs.insertCode, CommandIDs.openInNotebook, CommandIDs.ingest, CommandIDs.copyPath]) {
      app.contextMenu.addItem({ command, selector: '.pl-Dataset', rank: rank++ });
    }
    for (const command of [CommandIDs.openDataset, CommandIDs.sectionView, CommandIDs.openInNotebook, CommandIDs.ingest]) {
      app.contextMenu.addItem({ command, selector: FILE_BROWSER_SEISMIC, rank: 1 + rank++ / 100 });
    }
    app.contextMenu.addItem({ command: CommandIDs.cancelJob, selector: '.pl-Job[data-cancelable="true"]', rank: 0 });
    app.contextMenu.addItem({ command: CommandIDs.openResult, selector: '.pl-Job[data-openable="true"]', rank: 1 });
    app.contextMenu.addItem({ command: CommandIDs.reproduce, selector: '.pl-Job[data-state="completed"]', rank: 2 });

    // ---------------------------------------------------------------- settings
    let timer = 0;
    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        datasets.root = (settings.get('root').composite as string) ?? '';
        const seconds = (settings.get('refreshInterval').composite as number) ?? 0;
        window.clearInterval(timer);
        if (seconds > 0) {
          timer = window.setInterval(() => {
            if (datasets.isVisible) {
              void datasets.refresh();
            }
          }, seconds * 1000);
        }
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
