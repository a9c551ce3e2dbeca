export * from "./airbyte";
