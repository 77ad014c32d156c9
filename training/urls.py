"""Training pages: the referrer's own under /training/, a delegate's under the organisation."""

from django.urls import path

from .views import delegate, queue, referrer

org = "organisations/<str:ods_code>/training/"

urlpatterns = [
    path("training/", referrer.TrainingView.as_view(), name="training"),
    path("training/add/", referrer.TrainingRecordAddView.as_view(), name="training_record_add"),
    path(
        "training/records/<int:pk>/certificate/",
        referrer.CertificateDownloadView.as_view(),
        name="training_certificate",
    ),
    path(f"{org}queue/", queue.TrainingQueueView.as_view(), name="training_queue"),
    path(f"{org}import/", queue.TrainingImportView.as_view(), name="training_import"),
    path(
        f"{org}lapses/<int:pk>/reinstate/",
        queue.LapseReinstateView.as_view(),
        name="training_lapse_reinstate",
    ),
    path(f"{org}referrers/", delegate.ReferrerListView.as_view(), name="training_referrers"),
    path(
        f"{org}referrers/<int:pk>/",
        delegate.ReferrerTrainingView.as_view(),
        name="training_referrer",
    ),
    path(
        f"{org}referrers/<int:pk>/add/",
        delegate.ReferrerRecordAddView.as_view(),
        name="training_record_add_for",
    ),
    path(
        f"{org}referrers/<int:pk>/registration-lapsed/",
        delegate.RegistrationLapsedView.as_view(),
        name="registration_mark_lapsed",
    ),
    path(
        f"{org}referrers/<int:pk>/registration-renewed/",
        delegate.RegistrationRenewedView.as_view(),
        name="registration_confirm_renewed",
    ),
    path(
        f"{org}records/<int:pk>/",
        delegate.RecordReviewView.as_view(),
        name="training_record_review",
    ),
    path(
        f"{org}records/<int:pk>/verify/",
        delegate.RecordVerifyView.as_view(),
        name="training_record_verify",
    ),
    path(
        f"{org}records/<int:pk>/reject/",
        delegate.RecordRejectView.as_view(),
        name="training_record_reject",
    ),
]
