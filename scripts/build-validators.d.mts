export declare const SCHEMAS: string[];
export declare function generate(): string;
