export declare const PYTHON_PORT_PACKAGE: string;
export declare const PYTHON_PORT_VERSION: string;
export declare function parityVenvDir(): string;
export declare function ensureParityVenv(): { python: string; reused: boolean } | { error: string };
