/**
 * The edgepost version, from the root package.json (the one place it is written). The CLI
 * prints it; `npm run pack` stamps it on the packages and the /sdk/ bundle. esbuild inlines
 * only this field, not the rest of package.json.
 */
import { version } from "../package.json";

export const VERSION: string = version;
