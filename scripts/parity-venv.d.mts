export declare const PYTHON_PORT_PACKAGE: string;
export declare const PYTHON_PORT_VERSION: string;
export declare const PYTHON_PORT_OLDER_VERSIONS: string[];
export declare function parityVenvDir(version?: string): string;
export declare function ensureParityVenv(version?: string): { python: string; reused: boolean } | { error: string };
