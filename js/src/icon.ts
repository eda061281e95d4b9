import { LabIcon } from '@jupyterlab/ui-components';

// Three seismic traces, the middle one with a filled (variable-area) lobe.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.6" stroke-linecap="round">
    <path d="M5 2v5c-1.5 1.5-1.5 3 0 4.5s1.5 3 0 4.5V22"/>
    <path d="M12 2v3c2.5 2 2.5 5 0 7-2.5 2-2.5 5 0 7v3"/>
    <path d="M19 2v7c1.5 1 1.5 2.5 0 3.5s-1.5 2.5 0 3.5V22"/>
  </g>
  <path class="jp-icon-accent0" fill="#616161" d="M12 5c2.5 2 2.5 5 0 7z"/>
</svg>`;

/** Icon of the Promethium side panel. */
export const promethiumIcon = new LabIcon({ name: 'promethium-lab:icon', svgstr });
