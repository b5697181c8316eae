from django.http import HttpResponse

from comments.locks import ThreadBusy


class ServiceUnavailableMiddleware:
    """Answer a write that stayed contended after its retries with a 503, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ThreadBusy):
            response = HttpResponse(str(exception), status=503, content_type="text/plain")
            response["Retry-After"] = "2"
            return response
        return None
