/**
 * Seismic files open like images: SEG-Y, SU, miniSEED and SAC files and our Zarr stores are
 * JupyterLab file types whose default viewer is a {@link SectionView} (summary, section,
 * "open in a notebook"). The document's content is never loaded into the browser (the
 * model factories ask the contents API for metadata only), so a binary file no longer
 * gives "File Load Error … not UTF-8 encoded".
 */

import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  TextModelFactory
} from '@jupyterlab/docregistry';
import { Contents } from '@jupyterlab/services';

import { promethiumIcon } from './icon';
import { ISectionActions, SectionView } from './sectionview';

/** Name of the viewer of seismic files. */
export const FILE_VIEWER = 'Promethium Seismic Viewer';
/** Name of the viewer of Zarr stores (folders). */
export const STORE_VIEWER = 'Promethium Store Viewer';

/** The file types, by name: suffixes as `promethium_lab.io.formats.FILE_KINDS`. */
export const SEISMIC_FILE_TYPES: { name: string; displayName: string; extensions: string[]; mimeTypes: string[] }[] = [
  { name: 'promethium-segy', displayName: 'SEG-Y', extensions: ['.sgy', '.segy'], mimeTypes: ['application/x-segy'] },
  { name: 'promethium-su', displayName: 'Seismic Unix', extensions: ['.su'], mimeTypes: ['application/x-seismic-unix'] },
  { name: 'promethium-mseed', displayName: 'miniSEED', extensions: ['.mseed', '.miniseed'], mimeTypes: ['application/vnd.fdsn.mseed'] },
  { name: 'promethium-sac', displayName: 'SAC', extensions: ['.sac'], mimeTypes: ['application/x-sac'] }
];
const STORE_FILE_TYPE = 'promethium-zarr';

/** A model factory that reads no content: the viewer asks the server extension itself. */
class MetadataOnlyModelFactory extends TextModelFactory {
  constructor(
    private readonly _name: string,
    private readonly _contentType: Contents.ContentType
  ) {
    super();
  }
  get name(): string {
    return this._name;
  }
  get contentType(): Contents.ContentType {
    return this._contentType;
  }
  get fileFormat(): Contents.FileFormat {
    return null;
  }
}

/** The document widget of a seismic file or store. */
export class SeismicDocument extends DocumentWidget<SectionView, DocumentRegistry.IModel> {}

class SeismicViewerFactory extends ABCWidgetFactory<SeismicDocument, DocumentRegistry.IModel> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<SeismicDocument>,
    private readonly _actions: ISectionActions
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): SeismicDocument {
    const content = new SectionView(context.localPath, this._actions);
    const widget = new SeismicDocument({ content, context });
    widget.addClass('pl-SeismicDocument');
    widget.title.icon = promethiumIcon;
    context.pathChanged.connect((_, path) => {
      content.path = context.localPath || path;
    });
    return widget;
  }
}

/** Register the file types, their metadata-only models and the two viewers. */
export function registerSeismicDocuments(
  registry: DocumentRegistry,
  actions: ISectionActions
): void {
  for (const type of SEISMIC_FILE_TYPES) {
    registry.addFileType({
      ...type,
      contentType: 'file',
      fileFormat: null,
      icon: promethiumIcon
    });
  }
  registry.addFileType({
    name: STORE_FILE_TYPE,
    displayName: 'Zarr seismic store',
    extensions: ['.zarr'],
    mimeTypes: [],
    contentType: 'directory',
    fileFormat: null,
    icon: promethiumIcon
  });
  registry.addModelFactory(new MetadataOnlyModelFactory('promethium-file', 'file'));
  registry.addModelFactory(new MetadataOnlyModelFactory('promethium-store', 'directory'));
  registry.addWidgetFactory(
    new SeismicViewerFactory(
      {
        name: FILE_VIEWER,
        label: 'Seismic Viewer',
        modelName: 'promethium-file',
        fileTypes: SEISMIC_FILE_TYPES.map(t => t.name),
        defaultFor: SEISMIC_FILE_TYPES.map(t => t.name),
        readOnly: true
      },
      actions
    )
  );
  registry.addWidgetFactory(
    new SeismicViewerFactory(
      {
        name: STORE_VIEWER,
        label: 'Seismic Store Viewer',
        modelName: 'promethium-store',
        fileTypes: [STORE_FILE_TYPE],
        defaultFor: [STORE_FILE_TYPE],
        readOnly: true
      },
      actions
    )
  );
}
