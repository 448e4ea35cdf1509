"""KYC (customer due diligence): staff only. Document files arrive as multipart/form-data,
travel base64 over RPC and are stored encrypted by the kyc service."""
import base64

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.kyc import schemas
from shared.errors import NotFound, UnsupportedMediaType, ValidationFailed

from gateway.auth import STAFF
from gateway.http import created, json_body, page_args, route
from gateway.routes import require_customer

TAG = "kyc"
MULTIPART_OVERHEAD = 64 * 1024


class KycRoutes:
    @route("POST", "/kyc/cases", summary="Open a KYC case for a customer (organisation or person)", tag=TAG,
           roles=STAFF, body=schemas.CaseCreate, response=schemas.Case, status=201,
           rules="customer_id names an existing organisation or person.")
    def create_kyc_case(self, request, principal):
        body = json_body(request)
        if isinstance(body.get("customer_id"), str):
            try:
                require_customer(self.rpc, body["customer_id"], principal.visible_organisations())
            except NotFound:
                raise ValidationFailed("Unknown customer", {"customer_id": ["No such organisation or person."]})
        return created(self.rpc.kyc.create_case(body))

    @route("GET", "/kyc/cases", summary="KYC cases", tag=TAG, roles=STAFF, query=schemas.CaseFilter,
           response=schemas.Case, paginated=True)
    def list_kyc_cases(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.kyc.list_cases(filters, limit, cursor)

    @route("GET", "/kyc/cases/<string:case_id>", summary="A KYC case with its beneficial owners and PEPs",
           tag=TAG, roles=STAFF, response=schemas.Case)
    def get_kyc_case(self, request, principal, case_id):
        return self.rpc.kyc.get_case(case_id)

    @route("PATCH", "/kyc/cases/<string:case_id>", summary="Update identifying data or move the status "
           "(pending → verified | rejected, verified → expired; illegal 409)", tag=TAG, roles=STAFF,
           body=schemas.CaseUpdate, response=schemas.Case)
    def update_kyc_case(self, request, principal, case_id):
        return self.rpc.kyc.update_case(case_id, json_body(request))

    @route("POST", "/kyc/cases/<string:case_id>/parties", summary="Link a beneficial owner (> 25 %) or a "
           "politically exposed person", tag=TAG, roles=STAFF, body=schemas.PartyCreate, response=schemas.Party,
           status=201, rules="A beneficial_owner holds ownership_percent > 25; a pep has a pep_position; "
           "birth_date is not in the future.")
    def add_kyc_party(self, request, principal, case_id):
        return created(self.rpc.kyc.add_party(case_id, json_body(request)))

    @route("PUT", "/kyc/cases/<string:case_id>/document-file", summary="Upload the identity document "
           "(multipart field `file`; PDF, JPEG or PNG by content; at most 10 MB)", tag=TAG, roles=STAFF,
           body=schemas.DocumentUpload, response=schemas.Case, content_types=("multipart/form-data",),
           max_body=schemas.MAX_FILE_BYTES + MULTIPART_OVERHEAD,
           rules="The file is a PDF, JPEG or PNG by its content (else 415).")
    def upload_kyc_file(self, request, principal, case_id):
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType("Send the file as multipart/form-data", {"content_type": request.mimetype})
        try:
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            raise schemas.FileTooLarge(details={"max_bytes": schemas.MAX_FILE_BYTES}) from None
        if upload is None:
            raise ValidationFailed("No file", {"file": ["Missing data for required field."]})
        content = upload.read(schemas.MAX_FILE_BYTES + 1)
        if len(content) > schemas.MAX_FILE_BYTES:
            raise schemas.FileTooLarge(details={"max_bytes": schemas.MAX_FILE_BYTES})
        return self.rpc.kyc.store_file(case_id, base64.b64encode(content).decode())

    @route("GET", "/kyc/cases/<string:case_id>/document-file", summary="Download the identity document",
           tag=TAG, roles=STAFF)
    def download_kyc_file(self, request, principal, case_id):
        stored = self.rpc.kyc.read_file(case_id)
        return Response(base64.b64decode(stored["content"]), mimetype=stored["content_type"],
                        headers={"Content-Disposition": "attachment", "Cache-Control": "no-store"})
