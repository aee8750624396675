/** One entry of `errors[]`: `field` is a JSON pointer into the request body (RFC 6901). */
export interface FieldError {
  field: string;
  message: string;
}
